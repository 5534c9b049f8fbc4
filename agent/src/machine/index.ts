/**
 * The update state machine: one table (states, events, persistence, resume),
 * the handlers, the runner over a journal, and the notice inbox.
 */
export { machine, states, corruptJournalResume, isState, outcomeAfter, finalOutcome, statesIn } from './table.js';
export type { State, Event, EventOf, Outcome, Phase, Row } from './table.js';
export { Machine } from './runner.js';
export type { Step, StepResult, StepContext } from './steps.js';
export type { MachineOptions, RunResult, Timers } from './runner.js';
export { FileJournal, encodeJournal, decodeJournal } from './journal.js';
export type { Job, JournalRecord, JournalStore, Loaded } from './journal.js';
export type { MachinePorts, BootCounters, VerifiedNotice, SlotPair, Checkpoint, Report } from './ports.js';
export { NoticeInbox } from './inbox.js';
export { parseMachineConfig, DEFAULT_DEADLINES_MS } from './config.js';
export type { MachineConfig } from './config.js';
export type { Offered, InboxDeps, InboxMachine, InboxRetry } from './inbox.js';
export { DEFAULT_RETRY, RETRIED_CODES, retriable, retryDelayMs } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { FileRetryStore, type RetryMark, type RetryStore } from './retry-store.js';
