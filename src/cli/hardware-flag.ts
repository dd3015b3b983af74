// `serve --upstream ... --hardware model=llama-3.1-8b,gpu=h100[,tp=2][,dtype=fp8][,kv-dtype=fp8][,engine=vllm]`:
// what the upstream engines run, the command-line form of a YAML pool's `hardware` key, so the
// inferstack policy predicts TTFT in seconds from the physics model instead of in prompt tokens.
import { DTYPES } from '../physics/dtype.ts';
import { PoolHardwareError, stepTimeOf, type PoolHardware } from '../gateway/pool-hardware.ts';
import { CliError } from './cli-error.ts';

const KEYS = ['model', 'gpu', 'tp', 'dtype', 'kv-dtype', 'engine'] as const;
const ENGINES = ['vllm', 'trtllm'] as const;

/** The flag's value as a pool `hardware` object, checked against the physics catalogs. */
export function hardwareFlag(value: string): PoolHardware {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part.trim() : part.slice(0, eq).trim();
    if (!(KEYS as readonly string[]).includes(key)) throw new CliError(`--hardware: unknown key '${key}' (keys: ${KEYS.join(', ')})`);
    if (eq < 0 || part.slice(eq + 1).trim() === '') throw new CliError(`--hardware: '${key}' needs a value (${key}=...)`);
    if (fields.has(key)) throw new CliError(`--hardware: '${key}' given twice`);
    fields.set(key, part.slice(eq + 1).trim());
  }
  const model = fields.get('model');
  const gpu = fields.get('gpu');
  if (!model || !gpu) throw new CliError('--hardware needs at least model=ID and gpu=ID (e.g. model=llama-3.1-8b,gpu=h100)');
  const hw: PoolHardware = { model, gpu };
  const tp = fields.get('tp');
  if (tp !== undefined) {
    if (!/^\d+$/.test(tp) || Number(tp) < 1 || Number(tp) > 4096) throw new CliError(`--hardware: tp must be an integer from 1 to 4096, got '${tp}'`);
    hw.tp = Number(tp);
  }
  for (const [key, field] of [['dtype', 'dtype'], ['kv-dtype', 'kvDtype']] as const) {
    const v = fields.get(key);
    if (v === undefined) continue;
    if (!(DTYPES as readonly string[]).includes(v)) throw new CliError(`--hardware: ${key} must be one of ${DTYPES.join(', ')}, got '${v}'`);
    hw[field] = v;
  }
  const engine = fields.get('engine');
  if (engine !== undefined) {
    if (!(ENGINES as readonly string[]).includes(engine)) throw new CliError(`--hardware: engine must be one of ${ENGINES.join(', ')}, got '${engine}'`);
    hw.engine = engine as PoolHardware['engine'];
  }
  try {
    stepTimeOf(hw); // unknown ids and models that do not fit fail here, naming the key
  } catch (err) {
    if (!(err instanceof PoolHardwareError)) throw err;
    throw new CliError(`--hardware${err.key ? ` ${err.key === 'kvDtype' ? 'kv-dtype' : err.key}` : ''}: ${err.message.split('\n')[0]}`);
  }
  return hw;
}
