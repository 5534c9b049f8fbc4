/**
 * Resumable range downloader: fetches a signed plan of segments from mirrors
 * over a slow, flaky link, verifies each segment against its signed sha256,
 * hands verified segments to a consumer in order, and checkpoints after each.
 */
export { Download, DOWNLOAD_DEFAULTS } from './downloader.js';
export type { DownloadEvents, DownloadOptions, DownloadSummary } from './downloader.js';
export type { SegmentConsumer } from './assembler.js';
export { checkPlan, parsePlan } from './plan.js';
export type { DownloadPlan, PlanSegment } from './plan.js';
export { parseRetryAfterMs } from './retry-after.js';
export { DownloadError } from './errors.js';
export type { DownloadErrorCode, Reaction } from './errors.js';
export type { DownloadProgress } from './progress.js';
export { SpeedMeter } from './meter.js';
export type { SpeedLimits } from './meter.js';
export { TokenBucket } from './throttle.js';
export type { BandwidthCap } from './throttle.js';
export { strongValidator } from './http.js';
