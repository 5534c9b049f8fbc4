/**
 * The agent's log lines: text for journald or JSON, one per event.
 */
export { makeLogger } from './log.js';
export type { LineFormat, Logger, LogFields } from './log.js';
