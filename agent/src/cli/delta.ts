/**
 * `ota-agent delta apply --base OLD --delta DELTA --out NEW`: apply a delta file;
 * exit 0 only when the written image's sha256 matches the header. Relative paths
 * are relative to the CLI context's cwd.
 */
import { resolve } from 'node:path';
import type { Register } from './framework.js';
import { hex } from '../formats/index.js';
import { applyDeltaFile } from '../delta/index.js';

/** Registers `delta apply`. */
export const deltaAgentCommand: Register = (y, ctx) =>
  y.command('delta', 'apply update deltas', (yy) => yy
    .command('apply', 'rebuild the new image from the old one and a delta (verified before success)', (a) => a
      .option('base', { type: 'string', describe: 'the old image (not read for a full image)' })
      .option('delta', { type: 'string', demandOption: true, describe: 'the delta file' })
      .option('out', { type: 'string', demandOption: true, describe: 'where to write the new image: a slot (file or block device, written from its start, never truncated) or a new file' }),
    async (argv) => {
      const started = Date.now();
      const header = await applyDeltaFile({
        deltaPath: resolve(ctx.cwd, argv.delta), targetPath: resolve(ctx.cwd, argv.out),
        ...(argv.base === undefined ? {} : { basePath: resolve(ctx.cwd, argv.base) }),
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(2);
      ctx.stdout.write(`applied ${header.segments.length} segments: ${argv.out} is ${header.targetSizeBytes} bytes, sha256 ${hex(header.targetSha256)} (verified, ${seconds} s)\n`);
    })
    .demandCommand(1, 'name a delta command: apply'));
