// inference-perf's shared-prefix workload (kubernetes-sigs/inference-perf, data type shared_prefix)
// as trace requests: G system prompts with U users each give G x U fixed prompts (the group's system
// prompt followed by the user's own question), taken in a shuffled cycle, arriving exactly 1/rate
// apart (its "constant" load) through consecutive stages.
import { seededRandom } from '../../util/seeded-random.ts';
import { tokenWords, writeSynthTokens } from './tokens.ts';
import type { TraceRequest } from './types.ts';

export interface SharedPrefixWorkload {
  systemPrompts: number;
  usersPerSystemPrompt: number;
  /** Prompt tokens per request, of which `systemTokens` are the group's system prompt. */
  promptTokens: number;
  systemTokens: number;
  outputTokens: number;
  /**
   * Every request gets a question of its own instead of its user's fixed one (only the system
   * prompt is shared): a what-if for servers that do not see the prompts repeat.
   */
  uniqueQuestions?: boolean;
}

export interface LoadStage {
  startSeconds: number;
  durationSeconds: number;
  rate: number;
}

/** Ids are `s<stage>-<index in stage>`. Same inputs and seed, same requests. */
export function sharedPrefixRequests(w: SharedPrefixWorkload, stages: readonly LoadStage[], seed = 1): TraceRequest[] {
  if (!(w.systemTokens >= 0 && w.systemTokens < w.promptTokens)) throw new RangeError('systemTokens must be in [0, promptTokens)');
  const prompts = w.systemPrompts * w.usersPerSystemPrompt;
  const random = seededRandom(seed);
  const order = Array.from({ length: prompts }, (_, i) => i);
  for (let i = prompts - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const questionTokens = w.promptTokens - w.systemTokens;
  const requests: TraceRequest[] = [];
  stages.forEach((st, s) => {
    const count = Math.round(st.rate * st.durationSeconds);
    for (let j = 0; j < count; j++) {
      const n = requests.length;
      const prompt = order[n % prompts]!;
      const group = Math.floor(prompt / w.usersPerSystemPrompt);
      const question = 1_000_000 + (w.uniqueQuestions ? prompts + n : prompt);
      requests.push({
        id: `s${s}-${j}`,
        arrival: st.startSeconds + j / st.rate,
        promptTokens: w.promptTokens,
        outputTokens: w.outputTokens,
        tokenIds: (into) => {
          const ids = tokenWords(w.promptTokens, into);
          writeSynthTokens(1 + group, w.systemTokens, ids, 0);
          writeSynthTokens(question, questionTokens, ids, w.systemTokens);
          return ids;
        },
      });
    }
  });
  return requests;
}
