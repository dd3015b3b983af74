import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfigText } from '../../src/gateway/config.ts';

const example = readFileSync(new URL('../../inferstack.example.yaml', import.meta.url), 'utf8');

test('the example config validates and gets defaults', () => {
  const c = parseConfigText(example, 'example');
  assert.equal(c.pools.length, 3);
  assert.equal(c.listeners[0]!.port, 8080);
  assert.equal(c.limits.maxRetries, 2);
  assert.equal(c.signals.scrapeIntervalMs, 50);
  const minimal = parseConfigText('pools: [{name: a, models: [m], endpoints: [{url: "http://127.0.0.1:1", engine: twin}]}]', 'min');
  assert.deepEqual(minimal.listeners, [{ host: '127.0.0.1', port: 8080 }]);
  assert.equal(minimal.logLevel, 'info');
});

test('errors name the bad key', () => {
  const bad: [string, RegExp][] = [
    ['pools: [{name: a, models: [m], endpoints: [{url: "http://x", engine: tgi}]}]', /pools\[0\]\.endpoints\[0\]\.engine: must be one of vllm, sglang/],
    ['pools: [{name: a, models: [m], endpoints: [{url: "http://x", engine: vllm, timeout: 5}]}]', /pools\[0\]\.endpoints\[0\]\.timeout: unknown key/],
    ['pools: [{name: a, endpoints: [{url: "http://x", engine: vllm}]}]', /pools\[0\]\.models: required key is missing/],
    ['pools: [{name: a, models: [m], endpoints: [{url: "ftp://x", engine: vllm}]}]', /pools\[0\]\.endpoints\[0\]\.url: must match pattern/],
    ['limits: {maxRetries: 99}\npools: []', /limits\.maxRetries: must be <= 10/],
    ['listners: []\npools: []', /listners: unknown key/],
    ['pools: [{name: a, models: [m], endpoints: [{url: "http://x", engine: vllm}]}, {name: b, models: [m], endpoints: [{url: "http://y", engine: vllm}]}]', /'m' is already served by pool 'a'/],
    ['pools: [{name: a, models: [m], saturation: {queueDepth: 1}, endpoints: [{url: "http://x", engine: vllm}]}]', /pools\[0\]\.saturation\.kvUsage: required key is missing/],
    ['pools: [ {{', /not valid YAML/],
    ['pools: [{name: a, models: [m], policy: fastest, endpoints: [{url: "http://x", engine: vllm}]}]', /pools\[0\]\.policy: must be one of round-robin, least-load/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseConfigText(text, 'cfg.yaml'), (err: Error) => err instanceof ConfigError && re.test(err.message) && err.message.startsWith('cfg.yaml: '), text);
  }
});
