/**
 * The copy fw_printenv (libubootenv, incremental flags on a file) shows is the copy we read, for
 * every flags pair of a spread of values (each boundary of the byte and the wrap), including
 * (0xFF, 0), (0, 0xFF) and equal flags, and for every combination of valid and invalid CRCs.
 * Images are made by hand with the chosen flags.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCopy, openBootEnv } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { ENV_TOOLS, runTool, writeEnvConfig } from '../../support/uboot-env-tools.js';

const SIZE = 0x2000;
const FLAGS = [0, 1, 2, 3, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xc0, 0xfc, 0xfd, 0xfe, 0xff];
const skip = missingReason(missingTools('U-Boot env copy choice tests', ...ENV_TOOLS));
const it = gate(skip);

function copy(which: string, flags: number, crcValid: boolean): Uint8Array {
  const bytes = encodeCopy(new Map([['which', which]]), SIZE, true, flags);
  if (!crcValid) bytes[SIZE - 1] = 0x55;
  return bytes;
}

/** Which copy fw_printenv shows ('1', '2'), or 'none' when it finds no valid copy. */
function toolChoice(config: string): string {
  const r = runTool('fw_printenv', ['-c', config, '-n', 'which']);
  return r.status === 0 ? r.stdout.trim() : 'none';
}

async function ourChoice(config: string): Promise<string> {
  try {
    return (await (await openBootEnv({ configPath: config })).read()).get('which') ?? 'missing';
  } catch (err) {
    if (err instanceof OtaError && err.code === 'ENV_NO_VALID_COPY') return 'none';
    throw err;
  }
}

it('same copy as fw_printenv for every flags pair and every CRC validity', async () => {
  const t = tempDir('ota-env-choice-');
  try {
    const image = join(t.dir, 'env.img');
    const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0], [image, SIZE]], SIZE);
    const disagreements: string[] = [];
    const seen = new Set<string>();
    for (const f1 of FLAGS) {
      for (const f2 of FLAGS) {
        const validity = f1 === f2 || (f1 === 0xff && f2 === 0) ? [[true, true], [true, false], [false, true], [false, false]] : [[true, true]];
        for (const [v1 = true, v2 = true] of validity) {
          writeFileSync(image, Buffer.concat([copy('1', f1, v1), copy('2', f2, v2)]));
          const tool = toolChoice(config);
          const ours = await ourChoice(config);
          seen.add(tool);
          if (tool !== ours) disagreements.push(`flags (${f1}, ${f2}) crc (${v1}, ${v2}): fw_printenv ${tool}, ours ${ours}`);
        }
      }
    }
    assert.equal(disagreements, []);
    assert.equal([...seen].sort(), ['1', '2', 'none'], 'the cases cover both copies and no copy');
  } finally { t.cleanup(); }
});

it('named pairs: (0xFF, 0) -> second, (0, 0xFF) -> first, equal -> first, else the larger', async () => {
  const t = tempDir('ota-env-choice-');
  try {
    const image = join(t.dir, 'env.img');
    const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0], [image, SIZE]], SIZE);
    for (const [f1, f2, want] of [[0xff, 0, '2'], [0, 0xff, '1'], [7, 7, '1'], [3, 9, '2'], [0x80, 0x7f, '1']] as const) {
      writeFileSync(image, Buffer.concat([copy('1', f1, true), copy('2', f2, true)]));
      assert.is(toolChoice(config), want, `fw_printenv, flags (${f1}, ${f2})`);
      assert.is(await ourChoice(config), want, `ours, flags (${f1}, ${f2})`);
    }
  } finally { t.cleanup(); }
});

it('torn copies: fw_printenv and we show the same state for every cut and fill', async () => {
  const t = tempDir('ota-env-choice-');
  try {
    const image = join(t.dir, 'env.img');
    const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0], [image, SIZE]], SIZE);
    const fill = (which: string, flags: number): Uint8Array =>
      encodeCopy(new Map([['fill', which.repeat(SIZE - 20)], ['which', which]]), SIZE, true, flags);
    const old = fill('1', 5);
    const current = fill('2', 6);
    const next = fill('3', 7);
    const seen = new Set<string>();
    for (const k of [0, 1, 4, 5, 512, 4096, SIZE - 1]) {
      for (const rest of ['old', 'zero', '0xff'] as const) {
        const torn = rest === 'old' ? Uint8Array.from(old) : new Uint8Array(SIZE).fill(rest === 'zero' ? 0 : 0xff);
        torn.set(next.subarray(0, k));
        writeFileSync(image, Buffer.concat([torn, current]));
        const tool = toolChoice(config);
        assert.is(await ourChoice(config), tool, `k=${k} rest=${rest}`);
        // A cut before the last byte with a NUL behind it leaves the complete new copy: a finished write.
        const complete = torn.every((b, i) => b === next[i]);
        assert.is(tool, complete ? '3' : '2', `k=${k} rest=${rest}: the state before the torn write`);
        if (complete) seen.add(`k=${k} rest=${rest}`);
      }
    }
    assert.equal([...seen], [`k=${SIZE - 1} rest=old`, `k=${SIZE - 1} rest=zero`]);
  } finally { t.cleanup(); }
});

test.run();
