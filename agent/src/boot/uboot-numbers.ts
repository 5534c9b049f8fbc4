/**
 * U-Boot's number handling and its `test` and `setexpr` commands, as pure
 * functions, for the boot-script simulator. Sources: U-Boot `lib/strto.c`
 * (`simple_strtoul`, `hextoul`), `cmd/setexpr.c`, `cmd/test.c` (2023.01).
 *
 * The trap this reproduces: `setexpr` reads its operands as hex and prints the
 * result in hex without `0x` (10 - 1 = `f`), while `test` reads decimal unless
 * there is a `0x` prefix, and stops at the first non-digit (`test f -gt 0` is
 * false). Single digits 0..9 mean the same to both.
 */

/** `simple_strtoul(s, NULL, base)`: optional 0x prefix, stops at the first invalid digit, 0 if none. */
export function simpleStrtoul(s: string, base: number): bigint {
  let b = base;
  let i = 0;
  if (s[0] === '0') {
    if ((s[1] ?? '').toLowerCase() === 'x') { b = 16; i = 2; }
    else if (b === 0) b = 8;
  }
  if (b === 0) b = 10;
  let result = 0n;
  for (; i < s.length; i++) {
    const digit = Number.parseInt(s[i] ?? '', 16);
    if (Number.isNaN(digit) || digit >= b) break;
    result = result * BigInt(b) + BigInt(digit);
  }
  return result;
}

/** `simple_strtol(s, NULL, 0)`, as `test` uses it: a leading `-` negates. */
export function simpleStrtol(s: string): bigint {
  return s.startsWith('-') ? -simpleStrtoul(s.slice(1), 0) : simpleStrtoul(s, 0);
}

/** The result of a U-Boot command: 0 is success, as in the shell. */
export type Status = 0 | 1;

/**
 * `setexpr NAME A [OP B]` without memory operands: returns the value to store
 * (hex, no prefix, as `env_set_hex` prints it) or null for a usage error.
 * `ulongBits` is 64 on arm64 and 32 on arm: subtraction below 0 wraps there.
 */
export function setexpr(args: readonly string[], ulongBits: 32 | 64): string | null {
  const mask = (1n << BigInt(ulongBits)) - 1n;
  const a = args[0];
  if (a === undefined || a.startsWith('*')) return null;
  const av = simpleStrtoul(a, 16) & mask;
  if (args.length === 1) return av.toString(16);
  const op = args[1];
  const b = args[2];
  if (args.length !== 3 || op === undefined || b === undefined || op.length !== 1 || b.startsWith('*')) return null;
  const bv = simpleStrtoul(b, 16) & mask;
  const value = binary(op, av, bv);
  return value === null ? null : (value & mask).toString(16);
}

function binary(op: string, a: bigint, b: bigint): bigint | null {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b === 0n ? null : a / b;
    case '%': return b === 0n ? null : a % b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    default: return null;
  }
}

type TestOp = 'STR_EQ' | 'STR_NEQ' | 'STR_LT' | 'STR_GT' | 'INT_EQ' | 'INT_NEQ' | 'INT_LT' | 'INT_LE' | 'INT_GT' | 'INT_GE'
  | 'NOT' | 'OR' | 'AND' | 'STR_EMPTY' | 'STR_NEMPTY' | 'FILE_EXISTS';

/** cmd/test.c `op_adv`: where the operator sits (`arg`) and how many words it consumes (`adv`). Order matters. */
const OP_ADV: readonly { arg: number; str: string; op: TestOp; adv: number }[] = [
  { arg: 1, str: '=', op: 'STR_EQ', adv: 3 },
  { arg: 1, str: '!=', op: 'STR_NEQ', adv: 3 },
  { arg: 1, str: '<', op: 'STR_LT', adv: 3 },
  { arg: 1, str: '>', op: 'STR_GT', adv: 3 },
  { arg: 1, str: '-eq', op: 'INT_EQ', adv: 3 },
  { arg: 1, str: '-ne', op: 'INT_NEQ', adv: 3 },
  { arg: 1, str: '-lt', op: 'INT_LT', adv: 3 },
  { arg: 1, str: '-le', op: 'INT_LE', adv: 3 },
  { arg: 1, str: '-gt', op: 'INT_GT', adv: 3 },
  { arg: 1, str: '-ge', op: 'INT_GE', adv: 3 },
  { arg: 0, str: '!', op: 'NOT', adv: 1 },
  { arg: 0, str: '-o', op: 'OR', adv: 1 },
  { arg: 0, str: '-a', op: 'AND', adv: 1 },
  { arg: 0, str: '-z', op: 'STR_EMPTY', adv: 2 },
  { arg: 0, str: '-n', op: 'STR_NEMPTY', adv: 2 },
  { arg: 0, str: '-e', op: 'FILE_EXISTS', adv: 4 },
];

function evaluate(op: TestOp, ap: readonly string[], fileExists: (iface: string, devpart: string, path: string) => boolean): boolean {
  const s = (i: number): string => ap[i] ?? '';
  const n = (i: number): bigint => simpleStrtol(s(i));
  switch (op) {
    case 'STR_EMPTY': return s(1).length === 0;
    case 'STR_NEMPTY': return s(1).length !== 0;
    case 'STR_EQ': return s(0) === s(2);
    case 'STR_NEQ': return s(0) !== s(2);
    case 'STR_LT': return s(0) < s(2);
    case 'STR_GT': return s(0) > s(2);
    case 'INT_EQ': return n(0) === n(2);
    case 'INT_NEQ': return n(0) !== n(2);
    case 'INT_LT': return n(0) < n(2);
    case 'INT_LE': return n(0) <= n(2);
    case 'INT_GT': return n(0) > n(2);
    case 'INT_GE': return n(0) >= n(2);
    case 'FILE_EXISTS': return fileExists(s(1), s(2), s(3));
    default: return false;
  }
}

/**
 * `test ARGS...` with U-Boot's left-to-right evaluation (no precedence) and its
 * quirk: an expression it cannot parse (e.g. `test -gt 0` after an empty
 * variable vanished) returns success.
 */
export function ubootTest(args: readonly string[], fileExists: (iface: string, devpart: string, path: string) => boolean): Status {
  if (args.length < 2) return 1;
  let ap = args;
  let expr = false;
  let lastExpr = false;
  let lastUnop: 'NOT' | null = null;
  let lastBinop: 'OR' | 'AND' | null = null;
  while (ap.length > 0) {
    const entry = OP_ADV.find((e) => ap.length > e.arg && ap[e.arg] === e.str);
    if (entry === undefined || ap.length < entry.adv) { expr = true; break; }
    if (entry.op === 'OR' || entry.op === 'AND') { lastExpr = expr; lastBinop = entry.op; }
    else if (entry.op === 'NOT') lastUnop = lastUnop === 'NOT' ? null : 'NOT';
    else {
      expr = evaluate(entry.op, ap, fileExists);
      if (lastUnop === 'NOT') { expr = !expr; lastUnop = null; }
      if (lastBinop === 'OR') expr = lastExpr || expr;
      else if (lastBinop === 'AND') expr = lastExpr && expr;
      lastBinop = null;
    }
    ap = ap.slice(entry.adv);
  }
  return expr ? 0 : 1;
}
