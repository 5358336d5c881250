import { RxError } from './errors.js';

/** Short description of a value for "Expected X for Y but received Z" messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of length ${(v as unknown as { length: number }).length}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'function') return 'function';
  if (typeof v === 'object') return v.constructor && v.constructor !== Object ? `${v.constructor.name} object` : 'object';
  return typeof v;
}

export function argError(expected: string, what: string, got: unknown): RxError {
  return new RxError('RX_ARG', `Expected ${expected} for ${what} but received ${describe(got)}`);
}

export function expectString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw argError('string', what, v);
  return v;
}
export function expectNumber(v: unknown, what: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const { min, max, integer } = opts;
  const ok = typeof v === 'number' && !Number.isNaN(v) && (!integer || Number.isInteger(v)) &&
    (min === undefined || v >= min) && (max === undefined || v <= max);
  if (!ok) {
    let exp = integer ? 'integer' : 'number';
    if (min !== undefined && max !== undefined) exp += ` between ${min} and ${max}`;
    else if (min !== undefined) exp += ` >= ${min}`;
    else if (max !== undefined) exp += ` <= ${max}`;
    throw argError(exp, what, v);
  }
  return v as number;
}
export function expectBoolean(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw argError('boolean', what, v);
  return v;
}
export function expectOneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw argError(`one of ${allowed.map((a) => `'${a}'`).join(', ')}`, what, v);
  return v as T;
}
export function expectStringArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw argError('array of strings', what, v);
  return v as string[];
}
export function optional<T>(v: unknown, dflt: T, check: (v: unknown) => T): T {
  return v === undefined ? dflt : check(v);
}
