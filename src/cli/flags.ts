// Strict parsing of command-line flag values, shared by every command: '12x', '', 'NaN', '0x10' and
// out-of-range values are user mistakes, reported as one line naming the flag and the value.
import { CliError } from './cli-error.ts';

export interface NumberBounds {
  integer?: boolean;
  min?: number;
  max?: number;
  /** Greater than zero (for rates, factors, bandwidths). */
  positive?: boolean;
}

function describe({ integer = false, min, max, positive = false }: NumberBounds): string {
  const kind = integer ? 'an integer' : 'a number';
  if (positive && max === undefined) return integer ? 'a positive integer' : 'a positive number';
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

/** The flag's value as a number within bounds; undefined when the flag was not given. */
export function numberFlag(name: string, value: string | undefined, bounds: NumberBounds = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok =
    (bounds.integer ? /^[+-]?\d+$/.test(value.trim()) : value.trim() !== '' && Number.isFinite(n)) &&
    (bounds.min === undefined || n >= bounds.min) &&
    (bounds.max === undefined || n <= bounds.max) &&
    (!bounds.positive || n > 0);
  if (!ok) throw new CliError(`--${name} must be ${describe(bounds)}, got '${value}'`);
  return n;
}

/** The flag's value when it is one of `allowed`; undefined when the flag was not given. */
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new CliError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

/** A flag the command cannot run without. */
export function required<T>(command: string, name: string, value: T | undefined): T {
  if (value === undefined || value === '') throw new CliError(`--${name} is required (see inferstack ${command} --help)`);
  return value;
}
