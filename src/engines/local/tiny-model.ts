// Generates small llama-architecture GGUF models with random weights, a byte-level BPE tokenizer
// (GPT-2 style) and a ChatML chat template, so tests and benchmarks run real llama.cpp compute
// without downloading anything. The text they generate is meaningless; the compute is real.
import { writeFile } from 'node:fs/promises';
import { seededRandom } from '../../util/seeded-random.ts';
import { encodeGguf, type GgufKv, type GgufTensorSpec } from './gguf-writer.ts';
import { GgmlType, GgufValueType } from '../../trust/gguf-types.ts';

export interface TinyModelOptions {
  name?: string;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  nHeadKv?: number;
  nFf?: number;
  contextLength?: number;
  /** number of BPE merges on top of the 256 byte tokens (the vocabulary is 256 + merges + 3 specials) */
  merges?: number;
  /** 'F32' or 'F16' for the matrices; norms are always F32 */
  weightType?: 'F32' | 'F16';
  seed?: number;
  /** Jinja chat template written to tokenizer.chat_template (default ChatML); null: none */
  chatTemplate?: string | null;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 upwards. */
function byteToUnicode(): string[] {
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : next++);
  }
  return table;
}

function buildVocab(mergeCount: number): { tokens: string[]; merges: string[]; types: number[] } {
  const bytes = byteToUnicode();
  const tokens = [...bytes];
  const merges: string[] = [];
  const known = new Set(tokens);
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const space = bytes[32]!; // 'Ġ'
  const pairs: [string, string][] = [];
  for (const l of letters) pairs.push([space, l]);
  for (const a of letters) for (const b of letters) pairs.push([a, b]);
  for (const [a, b] of pairs) {
    if (merges.length >= mergeCount) break;
    if (known.has(a + b)) continue;
    merges.push(`${a} ${b}`);
    tokens.push(a + b);
    known.add(a + b);
  }
  const types = tokens.map(() => 1); // NORMAL
  for (const s of SPECIAL_TOKENS) {
    tokens.push(s);
    types.push(3); // CONTROL
  }
  return { tokens, merges, types };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 -> IEEE half, round to nearest (enough for small random weights). */
function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign; // tiny values flush to zero
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | ((mant + 0x1000) >>> 13);
}

function randomMatrix(dims: number[], type: number, rand: () => number, scale: number): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const amp = scale * Math.sqrt(3); // uniform(-amp, amp) has standard deviation `scale`
  if (type === GgmlType.F16) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = toHalf((rand() * 2 - 1) * amp);
    return new Uint8Array(out.buffer);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * amp;
  return new Uint8Array(out.buffer);
}

function ones(n: number): Uint8Array {
  return new Uint8Array(new Float32Array(n).fill(1).buffer);
}

export interface TinyModelInfo {
  vocabSize: number;
  nEmbd: number;
  nLayer: number;
  contextLength: number;
}

/** Builds the GGUF bytes (as chunks) of a random llama model. */
export function encodeTinyLlama(opts: TinyModelOptions = {}): { chunks: Buffer[]; info: TinyModelInfo } {
  const nEmbd = opts.nEmbd ?? 64;
  const nLayer = opts.nLayer ?? 2;
  const nHead = opts.nHead ?? 4;
  const nHeadKv = opts.nHeadKv ?? nHead;
  const nFf = opts.nFf ?? nEmbd * 2;
  const ctx = opts.contextLength ?? 1024;
  const headDim = nEmbd / nHead;
  if (!Number.isInteger(headDim)) throw new Error('tiny-model: nEmbd must be a multiple of nHead');
  const wtype = opts.weightType === 'F16' ? GgmlType.F16 : GgmlType.F32;
  const { tokens, merges, types } = buildVocab(opts.merges ?? 200);
  const nVocab = tokens.length;
  const id = (t: string) => tokens.indexOf(t);
  const u32kv = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value });

  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufValueType.STRING, value: opts.name ?? 'inferstack-tiny-random' },
    u32kv('general.file_type', wtype === GgmlType.F16 ? 1 : 0),
    u32kv('general.alignment', 32),
    u32kv('llama.context_length', ctx),
    u32kv('llama.embedding_length', nEmbd),
    u32kv('llama.block_count', nLayer),
    u32kv('llama.feed_forward_length', nFf),
    u32kv('llama.attention.head_count', nHead),
    u32kv('llama.attention.head_count_kv', nHeadKv),
    u32kv('llama.rope.dimension_count', headDim),
    u32kv('llama.vocab_size', nVocab),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.FLOAT32, value: 1e-5 },
    { key: 'llama.rope.freq_base', type: GgufValueType.FLOAT32, value: 10000 },
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: GgufValueType.STRING, value: 'gpt-2' },
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, values: tokens },
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, values: types },
    { key: 'tokenizer.ggml.merges', type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, values: merges },
    u32kv('tokenizer.ggml.bos_token_id', id('<|endoftext|>')),
    u32kv('tokenizer.ggml.eos_token_id', id('<|im_end|>')),
    u32kv('tokenizer.ggml.padding_token_id', id('<|endoftext|>')),
    { key: 'tokenizer.ggml.add_bos_token', type: GgufValueType.BOOL, value: false },
  ];
  const template = opts.chatTemplate === undefined ? CHATML_TEMPLATE : opts.chatTemplate;
  if (template !== null) kvs.push({ key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: template });

  const rand = seededRandom(opts.seed ?? 1);
  const scale = 1 / Math.sqrt(nEmbd);
  const kvDim = nHeadKv * headDim;
  const mat = (name: string, dims: number[]): GgufTensorSpec => ({ name, dims, ggmlType: wtype, data: randomMatrix(dims, wtype, rand, scale) });
  const norm = (name: string): GgufTensorSpec => ({ name, dims: [nEmbd], ggmlType: GgmlType.F32, data: ones(nEmbd) });
  const tensors: GgufTensorSpec[] = [
    { name: 'token_embd.weight', dims: [nEmbd, nVocab], ggmlType: wtype, data: randomMatrix([nEmbd, nVocab], wtype, rand, 1) },
    norm('output_norm.weight'),
    mat('output.weight', [nEmbd, nVocab]),
  ];
  for (let i = 0; i < nLayer; i++) {
    tensors.push(
      norm(`blk.${i}.attn_norm.weight`),
      mat(`blk.${i}.attn_q.weight`, [nEmbd, nEmbd]),
      mat(`blk.${i}.attn_k.weight`, [nEmbd, kvDim]),
      mat(`blk.${i}.attn_v.weight`, [nEmbd, kvDim]),
      mat(`blk.${i}.attn_output.weight`, [nEmbd, nEmbd]),
      norm(`blk.${i}.ffn_norm.weight`),
      mat(`blk.${i}.ffn_gate.weight`, [nEmbd, nFf]),
      mat(`blk.${i}.ffn_up.weight`, [nEmbd, nFf]),
      mat(`blk.${i}.ffn_down.weight`, [nFf, nEmbd]),
    );
  }
  return { chunks: encodeGguf(kvs, tensors), info: { vocabSize: nVocab, nEmbd, nLayer, contextLength: ctx } };
}

/** Writes a random llama model to `path`. */
export async function writeTinyLlama(path: string, opts: TinyModelOptions = {}): Promise<TinyModelInfo> {
  const { chunks, info } = encodeTinyLlama(opts);
  await writeFile(path, chunks);
  return info;
}
