/**
 * When this agent was built: the lowest time the device will ever believe, so
 * a clock reset to 1970 cannot revive expired metadata. The device bundle
 * stamps it (esbuild `--define:OTA_BUILD_TIME='"2027-01-31T00:00:00Z"'`);
 * unbundled, the fallback is the date of the last change to the trust code,
 * which is never later than any real build of it.
 */
declare const OTA_BUILD_TIME: string | undefined;

const FALLBACK = '2026-11-25T00:00:00Z';
const stamped = typeof OTA_BUILD_TIME === 'string' && Number.isFinite(Date.parse(OTA_BUILD_TIME)) ? OTA_BUILD_TIME : undefined;

/** The agent's build time, ISO 8601. */
export const AGENT_BUILD_TIME: string = stamped ?? FALLBACK;

/** AGENT_BUILD_TIME in epoch milliseconds. */
export const AGENT_BUILD_TIME_MS = Date.parse(AGENT_BUILD_TIME);
