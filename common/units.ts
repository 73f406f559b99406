import { invalidArgument } from './errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Sizes as Podman's CLI writes them: `67108864`, `512m`, `1g`, `64kb` (binary units). */
export function parseBytes(value: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw invalidArgument(`${field}: "${value}" is not a size such as 512m or 1g`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (bytes <= 0) throw invalidArgument(`${field}: "${value}" must be larger than zero`);
  return requireSafe(field, value, bytes);
}

/** Podman reads numbers as 64-bit integers; past 2^53 JSON cannot carry them exactly anyway. */
export function requireSafe(field: string, value: string, n: number): number {
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${field}: "${value}" is too large`);
  return n;
}

/** A yes/no setting: 1/true or 0/false (or empty); anything else is refused, never read as no. */
export function parseSwitch(value: string, field: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '' || v === '0' || v === 'false') return false;
  throw invalidArgument(`${field}: "${value}" is not true or false`);
}

/** A positive whole number from a flag or variable, or undefined when it is not given. */
export function positiveCount(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(`${name}: "${value}" is not a positive whole number`);
  return n;
}

/** Milliseconds, zero or more, from a variable; undefined when it is not given. */
export function wholeMs(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw invalidArgument(`${name}: "${value}" is not a whole number of milliseconds`);
  return n;
}
