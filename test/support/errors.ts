import * as assert from 'uvu/assert';
import { OtaError } from '../../agent/src/errors/index.js';

/** Asserts `fn` throws an OtaError of `code` whose message matches `message`. */
export function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, OtaError);
    if (err instanceof OtaError) { assert.is(err.code, code); assert.match(err.message, message); }
    return;
  }
  assert.unreachable(`expected ${code}`);
}

/** Asserts the promise `fn` returns rejects with an OtaError of `code` whose message matches `message`. */
export async function rejectsCode(fn: () => Promise<unknown>, code: string, message: RegExp = /./): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.instance(err, OtaError);
    if (err instanceof OtaError) { assert.is(err.code, code); assert.match(err.message, message); }
    return;
  }
  assert.unreachable(`expected ${code}`);
}
