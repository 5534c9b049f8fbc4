/**
 * `npm run demo`: the whole system on one machine (embedded broker and artifact
 * server, real agents as separate processes, a staged rollout), shown live.
 */
export { demoMain, storyProblems } from './main.js';
export { Cleanup, runDemo, type DemoOptions } from './run.js';
export { atRest, bytesText, outcomes, summaryText, type DemoSummary, type Reverted } from './summary.js';
export { buildImages, gzipN9, haveMke2fs, type DemoImages } from './images.js';
export { LiveView, deviceLine, type ViewOutput } from './view.js';
