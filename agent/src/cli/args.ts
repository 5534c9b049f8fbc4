/**
 * Arguments as commands of both programs read them: strict numbers and times from argv, and files of a
 * bounded size (a notice, a root) read without trusting their length.
 */
import { withContext } from '../errors/index.js';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { METADATA_LIMITS, Refusal } from '../formats/index.js';
import { readBounded } from '../files/index.js';
import { BundleSource, DirectorySource, isBundleFile } from '../install/index.js';
import type { LocalSource } from '../install/index.js';

const UINT = /^(0|[1-9][0-9]{0,15})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** A strict decimal safe non-negative integer from argv, or undefined. */
export function parseUintArg(text: string): number | undefined {
  const n = UINT.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * An ISO 8601 time from argv as epoch ms, or undefined. Every field must be in
 * range for its calendar (`2026-02-31` is refused, where Date.parse reads it as
 * March 3); a leap second (`:60`) is refused too.
 */
export function parseTimeArg(text: string): number | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f)));
  if (y === undefined || mo === undefined || d === undefined) return undefined;
  const day = new Date(Date.UTC(y, mo - 1, d));
  const calendar = day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
  if (!calendar || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Where a release lives: a directory with notice.json (ota-fleet release --out), a notice file
 * beside its targets/, or an .ota bundle (release --bundle). `install` and `verify` take any of them.
 */
export async function releaseSource(cwd: string, source: string): Promise<{ notice: Uint8Array; source: LocalSource; bundle: boolean }> {
  const path = resolve(cwd, source);
  const st = await stat(path).catch((err: unknown) => { throw withContext(`release ${path}`, err, 'RELEASE_MISSING'); });
  if (!st.isDirectory() && await isBundleFile(path)) return { ...await BundleSource.open(path), bundle: true };
  const dir = st.isDirectory() ? path : dirname(path);
  const noticeFile = st.isDirectory() ? join(path, 'notice.json') : path;
  return { notice: await readCapped(noticeFile, METADATA_LIMITS.maxBytes), source: new DirectorySource(dir), bundle: false };
}

/** Read a file of at most `maxBytes`, capped while reading (a device or a pipe has no size to check first). */
export async function readCapped(file: string, maxBytes: number): Promise<Uint8Array> {
  const oversize = (n: number): Error => new Refusal('oversize', `${file}: ${n} bytes is over the ${maxBytes}-byte cap; refused before parsing`);
  try {
    return await readBounded(file, maxBytes, 'read', oversize);
  } catch (err) {
    throw withContext(`read ${file}`, err);
  }
}
