// Arrival times of a seeded Poisson process: exponential gaps at `rate` requests per second,
// starting after one gap. The length-only traces draw their arrivals here, and a trace that was
// itself generated as one draw of a Poisson process (ShareGPT token ids) can be redrawn.
import { seededRandom } from '../../util/seeded-random.ts';

export function poissonArrivals(count: number, rate: number, seed: number): number[] {
  const random = seededRandom(seed);
  const out = new Array<number>(count);
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += -Math.log(1 - random()) / rate;
    out[i] = t;
  }
  return out;
}
