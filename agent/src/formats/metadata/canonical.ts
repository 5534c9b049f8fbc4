/**
 * Canonical JSON as securesystemslib's `encode_canonical` writes it (the OLPC
 * rules TUF signs over): no whitespace, object members sorted by code point,
 * strings with only `"` and `\` escaped, integers only (no floats), UTF-8.
 * Stricter than securesystemslib in one way: strings holding a control
 * character or a lone surrogate are refused (canonical JSON would carry them
 * raw, and strict JSON cannot read them back), so what we sign always parses.
 */
import type { JsonValue } from './json.js';
import { Refusal } from './refusal.js';

/** The canonical JSON bytes of `value`; a non-integer number or lone surrogate is refused. */
export function canonicalBytes(value: JsonValue): Uint8Array {
  return Buffer.from(canonicalString(value), 'utf8');
}

/** The canonical JSON text of `value` (see canonicalBytes). */
export function canonicalString(value: JsonValue): string {
  const parts: string[] = [];
  encode(value, parts);
  return parts.join('');
}

/** Compare two strings by Unicode code point, as Python sorts `str` (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let k = 0; k < x.length && k < y.length; k++) {
    const d = (x[k]?.codePointAt(0) ?? 0) - (y[k]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function encode(value: JsonValue, parts: string[], at: string[] = []): void {
  if (value === null) parts.push('null');
  else if (typeof value === 'boolean') parts.push(value ? 'true' : 'false');
  else if (typeof value === 'number') parts.push(integer(value, at));
  else if (typeof value === 'string') parts.push(str(value, at));
  else if (Array.isArray(value)) {
    parts.push('[');
    value.forEach((v, k) => {
      if (k > 0) parts.push(',');
      at.push(`[${k}]`);
      encode(v, parts, at);
      at.pop();
    });
    parts.push(']');
  } else {
    parts.push('{');
    Object.keys(value).sort(compareCodePoints).forEach((key, k) => {
      if (k > 0) parts.push(',');
      parts.push(str(key, at), ':');
      const v = value[key];
      at.push(`.${key}`);
      if (v !== undefined) encode(v, parts, at);
      at.pop();
    });
    parts.push('}');
  }
}

function refuse(at: readonly string[], what: string): never {
  throw new Refusal('malformed', `canonical JSON: ${at.join('') || '(top)'}: ${what}`);
}

function integer(n: number, at: readonly string[]): string {
  // securesystemslib refuses floats; a number past 2^53 has no exact integer meaning either.
  if (!Number.isSafeInteger(n)) refuse(at, `${n} is not a safe integer`);
  return Object.is(n, -0) ? '0' : String(n);
}

const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function str(s: string, at: readonly string[]): string {
  if (LONE_SURROGATE.test(s)) refuse(at, 'string with a lone surrogate');
  // securesystemslib would write a control character raw, which no strict JSON parser (ours included) reads back.
  if (CONTROL.test(s)) refuse(at, 'control character in a string');
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
