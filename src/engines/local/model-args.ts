// `--model` values for `inferstack serve` -> model configs: `path/to/name.gguf` serves as `name`;
// `alias=path/to/file.gguf` picks the name. Two models with one name are an error, not a guess.
import { basename } from 'node:path';
import type { LocalModelConfig } from './registry.ts';

export function localModelsFromArgs(values: readonly string[]): LocalModelConfig[] {
  const out: LocalModelConfig[] = [];
  const seen = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    // An '=' before any path separator is an alias; a path may itself contain '='.
    const aliased = eq > 0 && !value.slice(0, eq).includes('/');
    const path = aliased ? value.slice(eq + 1) : value;
    const name = aliased ? value.slice(0, eq) : basename(path).replace(/\.gguf$/i, '');
    if (!path || !name) throw new Error(`--model '${value}': expected path/to/model.gguf or name=path/to/model.gguf`);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`--model: '${other}' and '${path}' would both be served as '${name}'; name one with name=path`);
    seen.set(name, path);
    out.push({ name, path });
  }
  return out;
}
