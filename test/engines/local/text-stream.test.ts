import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextStream, type Detokenizer } from '../../../src/engines/local/text-stream.ts';

/** Each token id is one byte; decoding is UTF-8 of the bytes (like a byte-level BPE vocab). */
const bytes: Detokenizer = { detokenize: (tokens) => Buffer.from(tokens).toString('utf8') };
const ids = (s: string) => [...Buffer.from(s)];

function run(stream: TextStream, text: string): string[] {
  const out: string[] = [];
  for (const t of ids(text)) {
    const d = stream.push(t);
    if (d) out.push(d);
    if (stream.stopped) return out;
  }
  const rest = stream.flush();
  if (rest) out.push(rest);
  return out;
}

test('multi-byte characters are held until complete', () => {
  assert.deepEqual(run(new TextStream(bytes, []), 'aé€b'), ['a', 'é', '€', 'b']);
});

test('a stop string spanning tokens ends the text before it', () => {
  const s = new TextStream(bytes, ['END']);
  assert.equal(run(s, 'hello ENDworld').join(''), 'hello ');
  assert.equal(s.stopped, true);
});

test('a possible stop prefix is held, then released when it does not complete', () => {
  const s = new TextStream(bytes, ['STOP']);
  const out = run(s, 'aSTxSTO');
  assert.equal(s.stopped, false);
  assert.deepEqual(out, ['a', 'STx', 'STO']); // 'ST' waited for 'x'; the final 'STO' comes out at flush
});

test('the earliest of several stop strings wins', () => {
  assert.equal(run(new TextStream(bytes, ['zz', 'b']), 'aabzz').join(''), 'aa');
});
