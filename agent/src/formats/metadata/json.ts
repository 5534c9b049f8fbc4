/**
 * A strict JSON parser for signed metadata: the size is capped before any
 * parsing, the text must be valid UTF-8 (no BOM), a member name may appear
 * only once per object, nesting is capped, and parsing uses an explicit stack
 * (no recursion), so 10,000-deep input is refused without a stack overflow.
 */
import { Refusal } from './refusal.js';

/** A parsed JSON value. Objects have no prototype-sensitive members (`__proto__` is an ordinary key). */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A parsed JSON object. */
export interface JsonObject { [key: string]: JsonValue }

/** Caps applied before and during parsing. */
export interface JsonLimits {
  /** Largest accepted input, checked before decoding. */
  readonly maxBytes: number;
  /** Deepest accepted nesting of arrays and objects (the top-level container is depth 1). */
  readonly maxDepth: number;
}

/** Caps for one MQTT notice or metadata file: 256 KiB, depth 32 (our documents nest 6 deep). */
export const METADATA_LIMITS: JsonLimits = { maxBytes: 256 * 1024, maxDepth: 32 };

/**
 * Refuse a payload of `sizeBytes` larger than `maxBytes`. Sizes are compared as
 * exact safe integers (never truncated to 32 bits): 2^32+1 bytes is not 1 byte.
 */
export function checkPayloadSize(sizeBytes: number, maxBytes: number, what: string): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new Refusal('malformed', `${what}: size ${sizeBytes} is not a byte count`);
  }
  if (sizeBytes > maxBytes) {
    throw new Refusal('oversize', `${what}: ${sizeBytes} bytes is over the ${maxBytes}-byte cap; refused before parsing`);
  }
}

/** True when `obj` has `key` as an own member (safe for `__proto__`, `hasOwnProperty`...). */
export function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** Parse `bytes` as one JSON value under `limits`; throws a Refusal naming `what`. */
export function parseStrictJson(bytes: Uint8Array, limits: JsonLimits, what: string): JsonValue {
  checkPayloadSize(bytes.byteLength, limits.maxBytes, what);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new Refusal('malformed', `${what}: not valid UTF-8`, { cause: err });
  }
  return new Parser(text, limits.maxDepth, what).document();
}

type Frame = { kind: 'array'; value: JsonValue[] } | { kind: 'object'; value: JsonObject; key: string };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  private i = 0;
  private readonly stack: Frame[] = [];

  constructor(private readonly text: string, private readonly maxDepth: number, private readonly what: string) {}

  /** The whole text as one value, with nothing but whitespace after it. */
  document(): JsonValue {
    this.ws();
    for (;;) {
      let value = this.open();
      if (value === undefined) continue;
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) {
          this.ws();
          if (this.i !== this.text.length) this.fail('unexpected text after the value');
          return value;
        }
        if (top.kind === 'array') top.value.push(value);
        else Object.defineProperty(top.value, top.key, { value, enumerable: true, writable: true, configurable: true });
        this.ws();
        const c = this.text[this.i++];
        if (c === ',') {
          this.ws();
          if (top.kind === 'object') top.key = this.memberName(top.value);
          break;
        }
        if (c !== (top.kind === 'array' ? ']' : '}')) this.fail(`expected ',' or '${top.kind === 'array' ? ']' : '}'}'`);
        this.stack.pop();
        value = top.value;
      }
    }
  }

  /** Read a scalar or an empty container (returned), or open a container (pushed; returns undefined). */
  private open(): JsonValue | undefined {
    const c = this.text[this.i];
    if (c !== '{' && c !== '[') return this.scalar();
    if (this.stack.length >= this.maxDepth) {
      throw new Refusal('too-deep', `${this.what}: nesting deeper than ${this.maxDepth} at character ${this.i}`);
    }
    this.i++;
    this.ws();
    if (c === '[') {
      if (this.text[this.i] === ']') { this.i++; return []; }
      this.stack.push({ kind: 'array', value: [] });
      return undefined;
    }
    const obj: JsonObject = {};
    if (this.text[this.i] === '}') { this.i++; return obj; }
    this.stack.push({ kind: 'object', value: obj, key: this.memberName(obj) });
    return undefined;
  }

  /** A member name, its colon and the whitespace after; refuses a name `obj` already has. */
  private memberName(obj: JsonObject): string {
    if (this.text[this.i] !== '"') this.fail('expected a member name');
    const key = this.string();
    if (hasOwn(obj, key)) throw new Refusal('duplicate-key', `${this.what}: member ${JSON.stringify(key)} appears twice in one object`);
    this.ws();
    if (this.text[this.i++] !== ':') this.fail(`expected ':' after ${JSON.stringify(key)}`);
    this.ws();
    return key;
  }

  private scalar(): JsonValue {
    const c = this.text[this.i];
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.i)) { this.i += word.length; return value; }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : 'expected a value');
  }

  private number(): number {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (m === null) return this.fail('malformed number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail(`number ${m[0].slice(0, 40)} is out of range`);
    return n;
  }

  private string(): string {
    let out = '';
    let start = ++this.i;
    for (;;) {
      const code = this.text.charCodeAt(this.i);
      if (Number.isNaN(code)) this.fail('unterminated string');
      if (code === 0x22) { out += this.text.slice(start, this.i++); return out; }
      if (code < 0x20) this.fail('control character in a string');
      if (code === 0x5c) {
        out += this.text.slice(start, this.i) + this.escape();
        start = this.i;
      } else this.i++;
    }
  }

  /** One escape sequence at `this.i` (the backslash); a \u surrogate must come as a valid pair. */
  private escape(): string {
    const e = this.text[this.i + 1] ?? '';
    if (e !== 'u') {
      const s = ESCAPES[e];
      if (s === undefined) this.fail('bad escape');
      this.i += 2;
      return s ?? '';
    }
    const hi = this.hex4(this.i + 2);
    this.i += 6;
    if (hi >= 0xdc00 && hi <= 0xdfff) this.fail('lone low surrogate');
    if (hi < 0xd800 || hi > 0xdbff) return String.fromCharCode(hi);
    if (this.text[this.i] !== '\\' || this.text[this.i + 1] !== 'u') this.fail('lone high surrogate');
    const lo = this.hex4(this.i + 2);
    if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone high surrogate');
    this.i += 6;
    return String.fromCharCode(hi, lo);
  }

  private hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('bad \\u escape');
    return parseInt(digits, 16);
  }

  private ws(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private fail(what: string): never {
    throw new Refusal('malformed', `${this.what}: invalid JSON: ${what} at character ${this.i}`);
  }
}
