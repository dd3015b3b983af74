import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../src/engines/circuit-breaker.ts';

test('ejects after consecutive failures; a success resets the streak', () => {
  const b = new CircuitBreaker({ failureThreshold: 3, baseCooldownMs: 1000 });
  assert.equal(b.recordFailure(0), false);
  assert.equal(b.recordFailure(1), false);
  b.recordSuccess();
  assert.equal(b.recordFailure(2), false);
  assert.equal(b.recordFailure(3), false);
  assert.equal(b.recordFailure(4), true);
  assert.equal(b.admitted, false);
  assert.equal(b.ejections, 1);
});

test('re-admission only by a probe after the cooldown; a failed probe doubles it', () => {
  const b = new CircuitBreaker({ failureThreshold: 1, baseCooldownMs: 100, maxCooldownMs: 1000 });
  b.recordFailure(0);
  b.recordSuccess(); // a late success of an old request does not re-admit
  assert.equal(b.admitted, false);
  assert.equal(b.recordProbe(true, 50), false, 'too early');
  assert.equal(b.recordProbe(false, 100), false);
  assert.equal(b.probeDue(250), false, 'cooldown doubled to 200 ms from t=100');
  assert.equal(b.probeDue(300), true);
  assert.equal(b.recordProbe(true, 300), true);
  assert.equal(b.admitted, true);
});

test('a flapping endpoint stays out longer each time it fails soon after coming back', () => {
  const b = new CircuitBreaker({ failureThreshold: 1, baseCooldownMs: 100, maxCooldownMs: 1000, flapWindowMs: 10_000 });
  let t = 0;
  const cooldowns: number[] = [];
  for (let i = 0; i < 5; i++) {
    b.recordFailure(t);
    const opened = t;
    while (!b.probeDue(t)) t += 10;
    cooldowns.push(t - opened);
    b.recordProbe(true, t);
    t += 10;
  }
  assert.deepEqual(cooldowns, [100, 200, 400, 800, 1000]);
  // Stable for longer than the flap window: back to the base cooldown.
  t += 20_000;
  b.recordFailure(t);
  assert.equal(b.probeDue(t + 100), true);
});
