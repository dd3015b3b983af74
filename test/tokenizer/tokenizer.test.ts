import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { writeTinyTokenizer } from '../helpers/tiny-tokenizer.ts';

const english =
  'Large language models are neural networks trained on vast amounts of text to predict the next token in a sequence. ' +
  'They are used for chat, summarisation and code generation, and their inference cost is dominated by memory bandwidth.';

test('built-in tokenizer round-trips any text, specials included', () => {
  const tok = createTokenizer();
  for (const text of ['', 'a', '  two  spaces ', 'Ünïcödé 😀 — “quotes”\n\ttabs', '<|im_start|>user\nhi<|im_end|>\n', english]) {
    assert.equal(tok.decode(tok.encode(text)), text);
  }
  assert.equal(tok.kind, 'builtin');
  for (const id of tok.encode(english)) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize);
});

test('built-in tokenizer is about 4 characters per token on English', () => {
  const tok = createTokenizer();
  const ratio = english.length / tok.encode(english).length;
  assert.ok(ratio > 3.3 && ratio < 4.7, `chars/token ${ratio}`);
});

test('built-in tokenizer is deterministic and prefix-stable', () => {
  const a = createTokenizer();
  const b = createTokenizer();
  const shared = english.repeat(3);
  const x = a.encode(shared + ' Question one: what is a KV cache? '.repeat(10));
  const y = b.encode(shared + ' Question two: why does batching help? '.repeat(10));
  const base = a.encode(shared);
  assert.deepEqual(a.encode(shared), b.encode(shared));
  // Every token of the shared prefix but the one at the boundary is identical.
  assert.deepEqual(x.slice(0, base.length - 1), base.slice(0, -1));
  assert.deepEqual(y.slice(0, base.length - 1), base.slice(0, -1));
  // ...so the shared prefix yields the same cached blocks.
  const hx = hashBlocks(x, 16);
  const hy = hashBlocks(y, 16);
  const fullShared = Math.floor((base.length - 1) / 16);
  assert.ok(fullShared >= 5);
  assert.deepEqual(hx.slice(0, fullShared), hy.slice(0, fullShared));
  assert.notDeepEqual(hx.at(-1), hy.at(-1));
});

test('built-in chat rendering is ChatML and identical for identical messages', () => {
  const tok = createTokenizer();
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'image_url' }, { type: 'text', text: ' there' }] },
  ];
  const text = tok.renderChat(messages, { addGenerationPrompt: true });
  assert.equal(text, '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello\n there<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(tok.renderChat(structuredClone(messages), { addGenerationPrompt: true }), text);
  assert.equal(tok.renderChat(messages, { addGenerationPrompt: false }).endsWith('<|im_end|>\n'), true);
  assert.throws(() => tok.renderChat([{ role: 3 as unknown as string, content: 'x' }], { addGenerationPrompt: false }), /role/);
});

test('built-in filler tokens decode to words', () => {
  const tok = createTokenizer();
  assert.ok(tok.fillerTokenIds.length > 10);
  assert.match(tok.decode(tok.fillerTokenIds), /^( [a-z]+)+$/);
  assert.throws(() => tok.decode([-1]), /outside the vocabulary/);
});

const template =
  "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}assistant :{% endif %}";

test('a tokenizer.json and a Jinja chat template', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-tok-'));
  try {
    const tok = createTokenizer({ tokenizerJsonPath: writeTinyTokenizer(dir), chatTemplate: template });
    assert.equal(tok.kind, 'huggingface');
    assert.equal(tok.vocabSize, 15);
    assert.deepEqual(tok.encode('hello world'), [0, 3, 4]);
    assert.deepEqual(tok.encode('hello world', { addSpecialTokens: false }), [3, 4]);
    assert.match(tok.decode([0, 3, 4]), /hello ?world/);
    const text = tok.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    assert.equal(text, '<s>user : hi assistant :');
    assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), [0, 8, 11, 12, 9, 11]);
    // Filler comes from ordinary single-token words of this vocabulary.
    for (const id of tok.fillerTokenIds) assert.ok(id > 2 && id < 15);
    assert.ok(tok.fillerTokenIds.includes(5)); // 'the'
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a word-level tokenizer.json: unknown words are its unk_token, as Hugging Face tokenizers encode them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-tok-'));
  try {
    const tok = createTokenizer({ tokenizerJsonPath: writeTinyTokenizer(dir) });
    assert.deepEqual(tok.encode('hello zebra world'), [0, 3, 2, 4]);
    // Without any unk_token an unknown word has no id: a clear error, never an undefined id.
    const path = join(dir, 'tokenizer.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    delete json.model.unk_token;
    writeFileSync(path, JSON.stringify(json));
    const strict = createTokenizer({ tokenizerJsonPath: path });
    assert.deepEqual(strict.encode('hello world'), [0, 3, 4]);
    assert.throws(() => strict.encode('hello zebra'), /has no token for part of the text/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chat_template from tokenizer_config.json, and bad files give clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-tok-'));
  try {
    const path = writeTinyTokenizer(dir);
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', chat_template: [{ name: 'default', template }] }));
    const tok = createTokenizer({ tokenizerJsonPath: path });
    assert.equal(tok.renderChat([{ role: 'system', content: 'be brief' }], { addGenerationPrompt: false }), '<s>system : be brief ');

    assert.throws(() => createTokenizer({ tokenizerJsonPath: join(dir, 'missing.json') }), /cannot read tokenizer.json/);
    writeFileSync(join(dir, 'bad.json'), '{not json');
    assert.throws(() => createTokenizer({ tokenizerJsonPath: join(dir, 'bad.json') }), /is not valid/);
    assert.throws(() => createTokenizer({ tokenizerJsonPath: path, chatTemplate: '{% for %}' }), /chat template does not parse/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the built-in tokenizer accepts a Jinja template too; content arrays reach it as text', () => {
  const tok = createTokenizer({ chatTemplate: template });
  assert.equal(tok.renderChat([{ role: 'user', content: 'hi' }], { addGenerationPrompt: false }), 'user : hi ');
  const parts = [{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }];
  assert.equal(tok.renderChat([{ role: 'user', content: parts }], { addGenerationPrompt: false }), 'user : a\nb ');
});
