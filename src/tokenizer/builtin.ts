// The built-in approximate tokenizer, for when no tokenizer.json is given. It is deterministic,
// needs no vocabulary file, round-trips any text, and is prefix-stable: text splits into pieces
// (a word with its leading space, a run of spaces, or one other character) from left to right, so
// two texts with the same prefix get the same leading tokens (all but the piece at the boundary).
//   ids 0..255        raw UTF-8 bytes (punctuation, newlines, non-ASCII)
//   ids 256..258      special tokens <|endoftext|>, <|im_start|>, <|im_end|>
//   ids 512..         up to 5 characters of [a-zA-Z0-9 ] packed 6 bits each (ids stay below 2^31), so
//                     English costs about one token per 4 characters, as on real tokenizers.
import { IM_END, IM_START, renderChatML } from './chat.ts';
import type { ChatMessage, RenderChatOptions, Tokenizer } from './types.ts';

const SPECIALS = ['<|endoftext|>', IM_START, IM_END];
const SPECIAL_BASE = 256;
const PACK_BASE = 512;
const CHARS_PER_TOKEN = 5;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '; // codes 1..63; 0 = no char
const VOCAB_SIZE = PACK_BASE + 64 ** CHARS_PER_TOKEN;

const CODE = new Int8Array(128);
for (let i = 0; i < ALPHABET.length; i++) CODE[ALPHABET.charCodeAt(i)] = i + 1;

const SPECIAL_RE = /<\|endoftext\|>|<\|im_start\|>|<\|im_end\|>/g;
const PIECE_RE = / ?[A-Za-z0-9]+| +|[^A-Za-z0-9 ]/gsu;

/** Short common words: the filler the twin "generates" reads as words, not noise. */
const FILLER_WORDS = [' the', ' of', ' and', ' to', ' a', ' in', ' is', ' it', ' you', ' for', ' on', ' are', ' as', ' was',
  ' be', ' at', ' one', ' can', ' all', ' has', ' two', ' day', ' get', ' use', ' way', ' new', ' now', ' may', ' see',
  ' how', ' its', ' our', ' out', ' who', ' did', ' sim'];

const utf8 = new TextEncoder();

function packPiece(piece: string, start: number, out: number[]): void {
  let id = 0;
  let mul = 1;
  const end = Math.min(start + CHARS_PER_TOKEN, piece.length);
  for (let i = start; i < end; i++) {
    id += CODE[piece.charCodeAt(i)]! * mul;
    mul *= 64;
  }
  out.push(PACK_BASE + id);
}

function encodePlain(text: string, out: number[]): void {
  for (const m of text.matchAll(PIECE_RE)) {
    const piece = m[0];
    const first = piece.charCodeAt(0);
    if (first < 128 && CODE[first]) {
      for (let i = 0; i < piece.length; i += CHARS_PER_TOKEN) packPiece(piece, i, out);
    } else {
      for (const b of utf8.encode(piece)) out.push(b);
    }
  }
}

export function builtinEncode(text: string): number[] {
  const out: number[] = [];
  let last = 0;
  for (const m of text.matchAll(SPECIAL_RE)) {
    encodePlain(text.slice(last, m.index), out);
    out.push(SPECIAL_BASE + SPECIALS.indexOf(m[0]));
    last = m.index + m[0].length;
  }
  encodePlain(text.slice(last), out);
  return out;
}

export function builtinDecode(ids: readonly number[]): string {
  const bytes: number[] = [];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) throw new RangeError(`token id ${id} is outside the vocabulary (0..${VOCAB_SIZE - 1})`);
    if (id < 256) bytes.push(id);
    else if (id < PACK_BASE) {
      const special = SPECIALS[id - SPECIAL_BASE];
      if (special === undefined) throw new RangeError(`token id ${id} is not assigned`);
      for (const b of utf8.encode(special)) bytes.push(b);
    } else {
      for (let v = id - PACK_BASE; v > 0; v = Math.floor(v / 64)) {
        const code = v % 64;
        if (code === 0) throw new RangeError(`token id ${id} is not assigned`);
        bytes.push(ALPHABET.charCodeAt(code - 1));
      }
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function createBuiltinTokenizer(): Tokenizer {
  return {
    kind: 'builtin',
    vocabSize: VOCAB_SIZE,
    fillerTokenIds: FILLER_WORDS.map((w) => builtinEncode(w)[0]!),
    encode: (text: string) => builtinEncode(text),
    decode: builtinDecode,
    renderChat: (messages: readonly ChatMessage[], opts: RenderChatOptions) => renderChatML(messages, opts),
  };
}
