import { z } from 'zod';
import { hasAdvancedParams, type UserClass } from '../auth/classes';
import { PARAMS, PARAM_NAMES, isIntegerParam, type GenerateParams, type ParamName } from './schema';

export interface ParamError {
  param: string;
  message: string;
  value?: string;
}

export type ParseResult = { ok: true; params: GenerateParams } | { ok: false; errors: ParamError[] };

// Plain decimal only: no sign on zero, no leading zeros, exponents, spaces or fractions.
const CANONICAL_INT = /^-?(0|[1-9][0-9]{0,15})$/;
const MAX_ECHO = 100;

function echo(value: string): string {
  return value.length > MAX_ECHO ? `${value.slice(0, MAX_ECHO)}…` : value;
}

/** The human sentence for a schema's valid values, derived from the schema itself. */
export function describeValid(name: ParamName): string {
  const schema = PARAMS[name].schema as z.ZodType;
  if (schema instanceof z.ZodNumber) {
    return `Must be an integer from ${schema.minValue} to ${schema.maxValue}.`;
  }
  if (schema instanceof z.ZodEnum) {
    return `Must be one of: ${(schema.options as string[]).join(', ')}.`;
  }
  return 'Invalid value.';
}

function parseValue(name: ParamName, raw: string): { ok: true; value: unknown } | { ok: false } {
  let candidate: unknown = raw;
  if (isIntegerParam(name)) {
    if (!CANONICAL_INT.test(raw) || raw === '-0') return { ok: false };
    candidate = Number(raw);
  }
  const parsed = (PARAMS[name].schema as z.ZodType).safeParse(candidate);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false };
}

/**
 * Parses the raw query string of a generate request for a caller of class `cls`.
 * Works on the raw string (not express's parsed object) so that repeated names, arrays
 * (`a[]=`) and prototype names are all seen for what they are: unknown or repeated keys.
 */
export function parseGenerateQuery(rawQuery: string, cls: UserClass): ParseResult {
  const errors: ParamError[] = [];
  const params: Record<string, unknown> = {};
  const seen = new Set<string>();
  const entries = [...new URLSearchParams(rawQuery)];
  for (const [name, value] of entries) {
    if (!(PARAM_NAMES as string[]).includes(name)) {
      errors.push({ param: echo(name), message: `Unknown parameter. Valid parameters: ${PARAM_NAMES.join(', ')}.`, value: echo(value) });
      continue;
    }
    const key = name as ParamName;
    if (seen.has(key)) {
      errors.push({ param: key, message: 'Parameter given more than once.', value: echo(value) });
      delete params[key];
      continue;
    }
    seen.add(key);
    if (PARAMS[key].tier === 'advanced' && !hasAdvancedParams(cls)) {
      errors.push({ param: key, message: `Requires the Professional plan or higher; your class is ${cls}.` });
      continue;
    }
    const result = parseValue(key, value);
    if (!result.ok) {
      errors.push({ param: key, message: describeValid(key), value: echo(value) });
      continue;
    }
    params[key] = result.value;
  }
  return errors.length ? { ok: false, errors } : { ok: true, params: params as GenerateParams };
}
