// What a model costs in memory before it is loaded, from its GGUF header alone: the weights as
// stored plus a KV cache of F16 keys and values for every sequence. It leaves out llama.cpp's
// compute scratch buffers (tens of MB at most for the sizes this engine targets), so a budget
// should keep some headroom.
import type { GgufSummary } from '../../trust/gguf.ts';

function metaNumber(summary: GgufSummary, key: string): number | undefined {
  const v = summary.metadata.get(key);
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

export interface ModelShape {
  architecture: string;
  trainContext: number | undefined;
  layers: number;
  /** width of one layer's K (and V) per token */
  kvWidth: number;
}

export function modelShape(summary: GgufSummary): ModelShape {
  const arch = String(summary.metadata.get('general.architecture'));
  const layers = metaNumber(summary, `${arch}.block_count`) ?? 0;
  const embd = metaNumber(summary, `${arch}.embedding_length`) ?? 0;
  const heads = metaNumber(summary, `${arch}.attention.head_count`) ?? 1;
  const kvHeads = metaNumber(summary, `${arch}.attention.head_count_kv`) ?? heads;
  const headDim = metaNumber(summary, `${arch}.attention.key_length`) ?? (heads > 0 ? embd / heads : 0);
  return {
    architecture: arch,
    trainContext: metaNumber(summary, `${arch}.context_length`),
    layers,
    kvWidth: kvHeads * headDim,
  };
}

/** Bytes of weights + F16 KV cache for `sequences` x `contextSize` tokens. */
export function estimateModelBytes(summary: GgufSummary, contextSize: number, sequences: number): number {
  const shape = modelShape(summary);
  const kvBytes = 2 /* K and V */ * 2 /* bytes per F16 */ * shape.layers * shape.kvWidth * contextSize * sequences;
  return summary.dataBytes + kvBytes;
}
