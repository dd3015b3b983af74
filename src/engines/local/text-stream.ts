// Turns generated tokens into text deltas: decodes incrementally (holding back bytes of a
// multi-byte character that is not complete yet) and applies stop strings (holding back any tail
// that could still become one). Costs O(new tokens) per step, not O(everything generated).

export interface Detokenizer {
  detokenize(tokens: readonly number[], specialTokens?: boolean, lastTokens?: readonly number[]): string;
}

const REPLACEMENT = '\uFFFD';
/** How many previous tokens to pass as context so leading spaces decode right. */
const CONTEXT_TOKENS = 8;

export class TextStream {
  private readonly model: Detokenizer;
  private readonly stops: readonly string[];
  private readonly maxStop: number;
  private committed: number[] = []; // tokens whose text is decided
  private pending: number[] = []; // tokens that may end inside a multi-byte character
  private held = ''; // decoded text not yet emitted because it may start a stop string
  /** True once a stop string was seen; the text after it is dropped. */
  stopped = false;

  constructor(model: Detokenizer, stops: readonly string[]) {
    this.model = model;
    this.stops = stops.filter((s) => s.length > 0);
    this.maxStop = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /** Adds one token; returns the text that can be shown now (possibly ''). */
  push(token: number): string {
    if (this.stopped) return '';
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, false, this.committed.slice(-CONTEXT_TOKENS));
    // An incomplete UTF-8 sequence decodes to U+FFFD; wait for the next token (bounded to 8 tokens).
    if (text.endsWith(REPLACEMENT) && this.pending.length < 8) return '';
    this.committed.push(...this.pending);
    if (this.committed.length > CONTEXT_TOKENS * 4) this.committed = this.committed.slice(-CONTEXT_TOKENS);
    this.pending = [];
    return this.applyStops(text);
  }

  /** At the end of generation: whatever is still held back. */
  flush(): string {
    if (this.stopped) return '';
    let text = this.held;
    if (this.pending.length) text += this.model.detokenize(this.pending, false, this.committed.slice(-CONTEXT_TOKENS));
    this.held = '';
    this.pending = [];
    return text;
  }

  private applyStops(text: string): string {
    if (this.stops.length === 0) return text;
    const buf = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.held = '';
      return buf.slice(0, cut);
    }
    // Keep the longest tail that is a prefix of some stop string.
    let keep = 0;
    for (let n = Math.min(this.maxStop - 1, buf.length); n > 0; n--) {
      const tail = buf.slice(buf.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) { keep = n; break; }
    }
    this.held = buf.slice(buf.length - keep);
    return buf.slice(0, buf.length - keep);
  }
}
