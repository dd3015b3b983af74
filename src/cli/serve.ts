// Placeholder until the 'serve' command lands; replaced by its own implementation.
import { CliError } from './cli-error.ts';

export async function main(_argv: string[]): Promise<void> {
  throw new CliError("'serve' is not built yet");
}
