/**
 * Named skips. uvu counts a skipped test but drops its name, so a run could lose a whole part of the
 * suite without a trace. Every conditional skip goes through `gate` (or `gateIn` for a uvu suite): a
 * skipped test prints one line, `# ota-skip {"name":…,"reason":…}`, which scripts/test.mjs collects with
 * the file that printed it, lists before the final line, and in CI checks against .ci/allowed-skips.
 */
import { test as uvuTest, type Callback, type Context, type Test } from 'uvu';

/** The prefix of the line a skipped test prints; scripts/test.mjs looks for it. */
export const SKIP_MARK = '# ota-skip ';

/** A test registrar with the shape of uvu's `test(name, fn)`. */
export type Registrar<T> = (name: string, fn: Callback<T>) => void;

/** Print the line that names a skipped test and its reason (for the runner), and tell uvu. */
export function skipNamed<T>(suite: Test<T>, name: string, reason: string): void {
  console.log(`${SKIP_MARK}${JSON.stringify({ name, reason })}`);
  suite.skip(name);
}

/**
 * `suite` itself when `reason` is undefined; otherwise a registrar that skips each test given to it, by
 * name (prefixed with `title`, the suite's, when given) and with `reason`.
 */
export function gateIn<T>(suite: Test<T>, reason: string | undefined, title?: string): Registrar<T> {
  if (reason === undefined) return suite;
  return (name) => skipNamed(suite, title === undefined ? name : `${title}: ${name}`, reason);
}

/** `gateIn` on uvu's default suite: `const it = gate(reason)`, then `it('name', fn)`. */
export function gate(reason: string | undefined): Registrar<Context> {
  return gateIn(uvuTest, reason);
}

/** The reason for a skip when `missing` (tools, from `missingTools`) is not empty. */
export function missingReason(missing: readonly string[]): string | undefined {
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}
