import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedPrefixRequests } from '../../src/bench/traces/shared-prefix.ts';

const workload = { systemPrompts: 3, usersPerSystemPrompt: 2, promptTokens: 40, systemTokens: 16, outputTokens: 7 };
const stages = [{ startSeconds: 0, durationSeconds: 2, rate: 5 }, { startSeconds: 2, durationSeconds: 1, rate: 10 }];
const key = (ids: Uint32Array) => Array.from(ids).join(',');

test('constant arrivals through consecutive stages', () => {
  const rs = sharedPrefixRequests(workload, stages);
  assert.equal(rs.length, 20);
  assert.deepEqual(rs.slice(0, 3).map((r) => r.arrival), [0, 0.2, 0.4]);
  assert.equal(rs[10]!.id, 's1-0');
  assert.equal(rs[10]!.arrival, 2);
  assert.ok(Math.abs(rs[11]!.arrival - 2.1) < 1e-12);
  assert.ok(rs.every((r) => r.promptTokens === 40 && r.outputTokens === 7 && r.tokenIds().length === 40));
});

test('G x U fixed prompts in a cycle; a group shares its system prompt and nothing more', () => {
  const rs = sharedPrefixRequests(workload, stages);
  const prompts = rs.map((r) => key(r.tokenIds()));
  assert.equal(new Set(prompts).size, 6);
  for (let i = 6; i < rs.length; i++) assert.equal(prompts[i], prompts[i - 6], 'the cycle repeats every G x U requests');
  const systems = new Map<string, Set<string>>(); // system prompt -> questions under it
  for (const r of rs.slice(0, 6)) {
    const ids = r.tokenIds();
    const sys = key(ids.subarray(0, 16));
    systems.set(sys, (systems.get(sys) ?? new Set()).add(key(ids.subarray(16))));
  }
  assert.equal(systems.size, 3);
  assert.ok([...systems.values()].every((qs) => qs.size === 2));
  // Deterministic for a seed, shuffled differently for another.
  assert.deepEqual(sharedPrefixRequests(workload, stages).map((r) => key(r.tokenIds())), prompts);
  assert.notDeepEqual(sharedPrefixRequests(workload, stages, 7).map((r) => key(r.tokenIds())).slice(0, 6), prompts.slice(0, 6));
});

test('unique questions: only the system prompts repeat', () => {
  const rs = sharedPrefixRequests({ ...workload, uniqueQuestions: true }, stages);
  assert.equal(new Set(rs.map((r) => key(r.tokenIds()))).size, rs.length);
  assert.equal(new Set(rs.map((r) => key(r.tokenIds().subarray(0, 16)))).size, 3);
  assert.throws(() => sharedPrefixRequests({ ...workload, systemTokens: 40 }, stages), RangeError);
});
