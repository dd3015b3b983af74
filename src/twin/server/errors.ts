// HTTP errors are src/http's ApiError, written in vLLM's style (VLLM_ERRORS); this is the one error
// of starting the server.

/** startTwinServer was given options it cannot run with (bad tokenizer file, block counts...). */
export class TwinConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwinConfigError';
  }
}
