// One error type for every refusal in the trust layer. `code` lets callers (the gateway, the CLI)
// branch without parsing messages; `message` is one line that says what was refused and why.
export type TrustErrorCode =
  | 'bad-lock' // the lock file is unreadable, malformed or inconsistent
  | 'hash-mismatch' // an artifact's bytes differ from the lock
  | 'missing-file' // a locked file is absent
  | 'unpinned' // an artifact is not in the lock and unpinned models are not allowed
  | 'bad-signature' // a signature is missing, malformed or does not verify
  | 'bad-key' // a key file is unreadable or not the expected kind
  | 'unsafe-format' // a format that can execute code on load (pickle)
  | 'bad-format' // a model file that fails its format's validation
  | 'source'; // a pull source could not be read

export class TrustError extends Error {
  readonly code: TrustErrorCode;
  constructor(code: TrustErrorCode, message: string) {
    super(message);
    this.name = 'TrustError';
    this.code = code;
  }
}
