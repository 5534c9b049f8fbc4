/**
 * What the downloader is asked to fetch: mirrors of one file, its signed length,
 * and the signed segments (offset, size, sha256) that are verified one by one.
 */
import { OtaError } from '../errors/index.js';

/** One segment of the file, as the signed release metadata describes it. */
export interface PlanSegment {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  /** Lower-case hex sha256 of the segment's bytes. */
  readonly sha256: string;
}

/** The input of a download: everything here comes from signed metadata (urls from the signed notice). */
export interface DownloadPlan {
  /** Mirrors of the same file, in order of preference. */
  readonly urls: readonly string[];
  readonly totalSizeBytes: number;
  /** Contiguous, in order, covering [0, totalSizeBytes). */
  readonly segments: readonly PlanSegment[];
  /** Random delay window before a fresh download starts (from the signed rollout document); 0 = none. */
  readonly spreadWindowMs?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function refuse(what: string): never {
  throw new OtaError('DOWNLOAD_BAD_PLAN', `download plan: ${what}; the release metadata is inconsistent, ask the vendor to republish it`);
}

function isSafeCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Throw DOWNLOAD_BAD_PLAN unless the plan is well formed (urls http(s), segments contiguous and covering the file). */
export function checkPlan(plan: DownloadPlan): void {
  if (plan.urls.length === 0) refuse('no mirror url');
  for (const url of plan.urls) {
    let parsed: URL;
    try { parsed = new URL(url); } catch { refuse(`mirror ${JSON.stringify(url)} is not a URL`); }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') refuse(`mirror ${url} is not http(s)`);
  }
  if (!isSafeCount(plan.totalSizeBytes)) refuse(`total size ${plan.totalSizeBytes} is not a byte count`);
  if (plan.spreadWindowMs !== undefined && !isSafeCount(plan.spreadWindowMs)) refuse('spread window is not a duration');
  let expected = 0;
  plan.segments.forEach((s, i) => {
    if (s.offsetBytes !== expected) refuse(`segment ${i} starts at ${s.offsetBytes}, expected ${expected}`);
    if (!isSafeCount(s.sizeBytes) || s.sizeBytes === 0) refuse(`segment ${i} has size ${s.sizeBytes}`);
    if (!SHA256_HEX.test(s.sha256)) refuse(`segment ${i} sha256 is not 64 lower-case hex digits`);
    expected += s.sizeBytes;
  });
  if (expected !== plan.totalSizeBytes) refuse(`segments cover ${expected} bytes, the file has ${plan.totalSizeBytes}`);
}

function field(o: object, key: string): unknown {
  const value: unknown = Object.prototype.hasOwnProperty.call(o, key) ? Reflect.get(o, key) : undefined;
  return value;
}

function parseSegment(v: unknown, i: number): PlanSegment {
  if (typeof v !== 'object' || v === null) refuse(`segment ${i} is not an object`);
  const offsetBytes = field(v, 'offsetBytes');
  const sizeBytes = field(v, 'sizeBytes');
  const sha256 = field(v, 'sha256');
  if (typeof offsetBytes !== 'number' || typeof sizeBytes !== 'number' || typeof sha256 !== 'string') refuse(`segment ${i} lacks offsetBytes, sizeBytes or sha256`);
  return { offsetBytes, sizeBytes, sha256 };
}

/** Validate a plan read from JSON; throws DOWNLOAD_BAD_PLAN. */
export function parsePlan(v: unknown): DownloadPlan {
  if (typeof v !== 'object' || v === null) refuse('not an object');
  const urls = field(v, 'urls');
  const totalSizeBytes = field(v, 'totalSizeBytes');
  const segments = field(v, 'segments');
  const spreadWindowMs = field(v, 'spreadWindowMs');
  if (!Array.isArray(urls) || !urls.every((u): u is string => typeof u === 'string')) refuse('urls is not a list of strings');
  if (typeof totalSizeBytes !== 'number' || !Array.isArray(segments)) refuse('totalSizeBytes or segments missing');
  if (spreadWindowMs !== undefined && typeof spreadWindowMs !== 'number') refuse('spreadWindowMs is not a number');
  const plan: DownloadPlan = { urls, totalSizeBytes, segments: segments.map(parseSegment), ...(spreadWindowMs === undefined ? {} : { spreadWindowMs }) };
  checkPlan(plan);
  return plan;
}
