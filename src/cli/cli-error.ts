// A CliError is a user mistake: print one line, exit non-zero, no stack trace.
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export async function runCli(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`inferstack: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (err && typeof err === 'object' && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // Node's messages for these can run over several lines; the contract is one.
      const oneLine = (err as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
      process.stderr.write(`inferstack: ${oneLine}\n`);
      process.exit(2);
    }
    throw err;
  }
}
