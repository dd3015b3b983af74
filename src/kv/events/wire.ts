// Framing shared by publisher and subscriber: [topic, seq (8-byte big-endian), payload] on PUB/SUB;
// [b"", start_seq] -> (seq, payload)... then (-1, b"") on the replay ROUTER/DEALER pair.

export const SEQ_BYTES = 8;

export function encodeSeq(seq: bigint): Buffer {
  const b = Buffer.alloc(SEQ_BYTES);
  b.writeBigInt64BE(BigInt.asIntN(64, seq));
  return b;
}

/** Returns the sequence number, or undefined when the frame is not 8 bytes. Read signed so the end marker is -1n. */
export function decodeSeq(frame: Uint8Array): bigint | undefined {
  if (frame.byteLength !== SEQ_BYTES) return undefined;
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).readBigInt64BE(0);
}

export const END_SEQ = -1n;

/** The replay endpoint answers at most this many batches per request (vLLM's default buffer_steps). */
export const DEFAULT_BUFFER_STEPS = 10_000;
/** vLLM's default high-water mark for the PUB socket. */
export const DEFAULT_HWM = 100_000;
