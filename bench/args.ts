// Every bench's flags, parsed strictly. A flag it does not know, or --help, is answered with one line
// that names the bench's options (each bench's header says what they do), not a stack trace.
import { basename } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export function benchArgs<T extends ParseArgsOptionsConfig>(options: T) {
  try {
    return parseArgs({ options, strict: true as const, allowPositionals: false as const });
  } catch (err) {
    const flags = Object.keys(options).map((name) => `--${name}`).join(' ');
    return badFlag(`${(err as Error).message.split('\n')[0]} (its options: ${flags || 'none'}; its header says what they do)`);
  }
}

/** A flag's value is wrong: say so in one line, naming the bench, and exit 2. */
export function badFlag(message: string): never {
  console.error(`${basename(process.argv[1] ?? 'bench')}: ${message}`);
  process.exit(2);
}
