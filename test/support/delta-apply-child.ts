/**
 * Child process for memory tests: applies a delta file and prints its peak RSS
 * before and after, as JSON. Usage: node delta-apply-child.js DELTA BASE OUT
 */
import { applyDeltaFile } from '../../agent/src/delta/index.js';

const [deltaPath, basePath, targetPath] = process.argv.slice(2);
if (deltaPath === undefined || basePath === undefined || targetPath === undefined) throw new Error('usage: DELTA BASE OUT');
const idleKiB = process.resourceUsage().maxRSS;
await applyDeltaFile({ deltaPath, basePath, targetPath });
const peakKiB = process.resourceUsage().maxRSS;
process.stdout.write(`${JSON.stringify({ idleBytes: idleKiB * 1024, peakBytes: peakKiB * 1024 })}\n`);
