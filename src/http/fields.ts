// Type checks for the fields of a JSON request body; a wrong type is a 400 that names the field.
import { badRequest } from './api-error.ts';

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

/** body[key] when present (null counts as absent, as in pydantic's Optional fields), checked. */
export function optional<T>(body: JsonObject, key: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw badRequest(`'${key}' must be ${expected}, got ${JSON.stringify(v)?.slice(0, 80)}`, key);
  return v;
}

export function optionalPositiveInt(body: JsonObject, key: string): number | undefined {
  const v = optional(body, key, isInt, 'an integer');
  if (v !== undefined && v < 1) throw badRequest(`'${key}' must be at least 1, got ${v}`, key);
  return v;
}
