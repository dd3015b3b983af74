// Seeded randomness. The scheduler never calls Math.random (a policy gets a generator at
// construction, so the virtual cluster replays a trace identically for a given seed); trace
// readers, fuzzers and test-model generators use the same generator for reproducible inputs.

export type Random = () => number; // uniform in [0, 1)

/** mulberry32: tiny, fast, good enough for tie-breaks and sampling (not for cryptography). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
