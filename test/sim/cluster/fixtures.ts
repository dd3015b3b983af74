// A small generated Mooncake-format trace: conversations whose turns extend the previous turn's
// prefix (like the real trace), all starting with a shared system-prompt block.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function writeConversationTrace(opts: { conversations: number; turns: number; gapMs: number }): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cluster-'));
  const lines: string[] = [];
  let nextId = 1;
  const history: number[][] = Array.from({ length: opts.conversations }, () => [0]);
  let t = 0;
  for (let turn = 0; turn < opts.turns; turn++) {
    for (let c = 0; c < opts.conversations; c++) {
      const ids = history[c]!;
      ids.push(nextId++, nextId++); // each turn adds two 512-token blocks
      const input = ids.length * 512 - 100;
      lines.push(JSON.stringify({ timestamp: t, input_length: input, output_length: 30 + ((c * 7 + turn) % 40), hash_ids: [...ids] }));
      t += opts.gapMs;
    }
  }
  const path = join(dir, 'trace.jsonl');
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, dir };
}
