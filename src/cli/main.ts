// inferstack command dispatcher: each command lives in its own module and is loaded on demand,
// so `inferstack plan` never pays for loading the gateway.
import { CliError, runCli } from './cli-error.ts';

const commands: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<void> }> }> = {
  serve: { summary: 'run the OpenAI-compatible gateway', load: () => import('./serve.ts') },
  twin: { summary: 'run a simulated vLLM-compatible engine (realtime)', load: () => import('./twin.ts') },
  sim: { summary: 'run the simulator in virtual time', load: () => import('./sim.ts') },
  plan: { summary: 'capacity planner and cost model', load: () => import('./plan.ts') },
  models: { summary: 'lock, pull, verify and sign model artifacts', load: () => import('./models.ts') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: inferstack <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

await runCli(async () => {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  const command = commands[name];
  if (!command) throw new CliError(`unknown command '${name}' (try: ${Object.keys(commands).join(', ')})`);
  const mod = await command.load();
  await mod.main(rest);
});
