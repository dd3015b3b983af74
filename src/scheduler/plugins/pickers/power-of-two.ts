// Power of two choices: two endpoints drawn at random, the better-scored one wins. Cheap and
// resistant to herding on stale signals. Fallbacks: the loser, then the rest by score.
import type { Picker } from '../../plugin.ts';

export function powerOfTwoPicker(): Picker {
  return {
    name: 'power-of-two',
    pick: (ctx, eps, scores) => {
      if (eps.length <= 1) return [...eps];
      const a = Math.floor(ctx.random() * eps.length);
      let b = Math.floor(ctx.random() * (eps.length - 1));
      if (b >= a) b++;
      const [win, lose] = scores[b]! > scores[a]! ? [b, a] : [a, b];
      const rest = eps.map((_, i) => i).filter((i) => i !== a && i !== b);
      rest.sort((x, y) => scores[y]! - scores[x]!);
      return [win, lose, ...rest].map((i) => eps[i]!);
    },
  };
}
