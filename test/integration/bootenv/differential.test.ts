/**
 * Differential tests against the real tools: what we write, fw_printenv (libubootenv) reads
 * identically; what mkenvimage and fw_setenv write, we read identically. Random variable sets from
 * a seeded PRNG, env sizes 8 KiB..256 KiB, single and redundant.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesOfText, encodeCopy, openBootEnv, parseData, sortVars, splitCopy, type UBootEnv } from '../../../agent/src/bootenv/index.js';
import { mulberry32, pick } from '../../support/prng.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { ENV_TOOLS, asBytes, asText, fwPrintenv, fwSetenv, mkenvimage, printed, randomValue, randomVars, writeEnvConfig } from '../../support/uboot-env-tools.js';

const SIZES = [0x2000, 0x4000, 0x10000, 0x40000];
const skip = missingReason(missingTools('U-Boot env differential tests', ...ENV_TOOLS));
const it = gate(skip);

interface Setup { dir: string; config: string; image: string; env: UBootEnv; cleanup: () => void }

async function setup(sizeBytes: number, redundant: boolean, initial?: Uint8Array): Promise<Setup> {
  const t = tempDir('ota-env-diff-');
  const image = join(t.dir, 'env.img');
  writeFileSync(image, initial ?? new Uint8Array((redundant ? 2 : 1) * sizeBytes));
  const config = writeEnvConfig(join(t.dir, 'fw_env.config'), redundant ? [[image, 0], [image, sizeBytes]] : [[image, 0]], sizeBytes);
  return { dir: t.dir, config, image, env: await openBootEnv({ configPath: config }), cleanup: t.cleanup };
}

it('what we write, fw_printenv reads identically (sizes 8..256 KiB, single and redundant)', async () => {
  for (const sizeBytes of SIZES) {
    for (const redundant of [false, true]) {
      const rng = mulberry32(sizeBytes + (redundant ? 1 : 0));
      const s = await setup(sizeBytes, redundant);
      try {
        const dataBytes = sizeBytes - (redundant ? 5 : 4);
        let vars = randomVars(rng, dataBytes, pick(rng, [0.3, 0.9, 0.99]));
        await s.env.update(Object.fromEntries(asBytes(vars)), { defaultsWhenInvalid: new Map() });
        for (let round = 0; round < 3; round++) {
          assert.is(fwPrintenv(s.config), printed(vars), `size ${sizeBytes} redundant ${redundant} round ${round}`);
          const names = [...vars.keys()];
          const changes: Record<string, string | null> = { [pick(rng, names)]: null, [`round_${round}`]: randomValue(rng, 40) };
          vars = new Map(vars);
          for (const [n, v] of Object.entries(changes)) if (v === null) vars.delete(n); else vars.set(n, v);
          await s.env.update(Object.fromEntries(Object.entries(changes).map(([n, v]) => [bytesOfText(n), v === null ? null : bytesOfText(v)])));
        }
        assert.is(fwPrintenv(s.config), printed(vars));
      } finally { s.cleanup(); }
    }
  }
});

it('what mkenvimage writes (single, 0xFF or 0x00 padding), we read identically to fw_printenv', async () => {
  for (const sizeBytes of SIZES) {
    const rng = mulberry32(0x5eed + sizeBytes);
    const t = tempDir('ota-env-diff-');
    try {
      const vars = randomVars(rng, sizeBytes - 4, pick(rng, [0.2, 0.95]));
      const dup = [...vars.keys()][0] ?? 'dup';
      const lines = [`# made by the differential test`, ...[...vars].map(([n, v]) => `${n}=${v}`), '', `${dup}=replaced`];
      for (const pad of [undefined, 0]) {
        const image = mkenvimage(t.dir, lines, sizeBytes, pad === undefined ? {} : { pad });
        const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0]], sizeBytes);
        const ours = await (await openBootEnv({ configPath: config })).read();
        assert.is(printed(asText(ours)), fwPrintenv(config), `size ${sizeBytes} pad ${String(pad)}`);
        assert.is(ours.get(dup), 'replaced', 'a later duplicate wins, as in fw_printenv');
      }
    } finally { t.cleanup(); }
  }
});

it('two mkenvimage -r copies: the copy fw_printenv shows is the one we read', async () => {
  for (const sizeBytes of [0x2000, 0x40000]) {
    const rng = mulberry32(0xc0b1e + sizeBytes);
    const t = tempDir('ota-env-diff-');
    try {
      const first = mkenvimage(t.dir, [...randomVars(rng, sizeBytes - 5, 0.5)].map(([n, v]) => `${n}=${v}`), sizeBytes, { redundant: true });
      const second = mkenvimage(t.dir, [...randomVars(rng, sizeBytes - 5, 0.5)].map(([n, v]) => `${n}=${v}`), sizeBytes, { redundant: true });
      const image = join(t.dir, 'both.img');
      for (const [f1, f2] of [[1, 1], [1, 2], [3, 2]] as const) {
        const a = readFileSync(first);
        const b = readFileSync(second);
        a[4] = f1;
        b[4] = f2;
        writeFileSync(image, Buffer.concat([a, b]));
        const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0], [image, sizeBytes]], sizeBytes);
        const ours = await (await openBootEnv({ configPath: config })).read();
        assert.is(printed(asText(ours)), fwPrintenv(config), `flags (${f1}, ${f2})`);
      }
    } finally { t.cleanup(); }
  }
});

it('what fw_setenv writes (arguments and -s script), we read identically, across the flags wrap', async () => {
  for (const sizeBytes of [0x2000, 0x20000]) {
    for (const redundant of [false, true]) {
      const rng = mulberry32(0xfe + sizeBytes + (redundant ? 7 : 0));
      const vars = randomVars(rng, sizeBytes - 5, 0.5);
      // Start the redundant env at flags 0xFE so that fw_setenv's writes cross 0xFF -> 0.
      const initial = redundant
        ? Buffer.concat([encodeCopy(asBytes(vars), sizeBytes, true, 0xfe), new Uint8Array(sizeBytes)])
        : encodeCopy(asBytes(vars), sizeBytes, false);
      const s = await setup(sizeBytes, redundant, initial);
      try {
        const flagsSeen: number[] = [];
        for (let round = 0; round < 4; round++) {
          const script = join(s.dir, 'script.txt');
          const name = pick(rng, [...vars.keys()]);
          writeFileSync(script, `# round ${round}\nset_${round}=${randomValue(rng, 30).trim() || 'x'}\n${name}=\n`);
          if (round % 2 === 0) fwSetenv(s.config, '-s', script); else fwSetenv(s.config, `arg_${round}`, 'a value with spaces');
          const ours = await s.env.readState();
          assert.is(printed(asText(ours.vars)), fwPrintenv(s.config), `size ${sizeBytes} redundant ${redundant} round ${round}`);
          flagsSeen.push(ours.flags);
        }
        if (redundant) assert.equal(flagsSeen, [0xff, 0, 1, 2], 'fw_setenv increments and wraps as we expect');
      } finally { s.cleanup(); }
    }
  }
});

it('we and fw_setenv take turns on one redundant env without losing a change', async () => {
  const sizeBytes = 0x4000;
  const s = await setup(sizeBytes, true);
  try {
    await s.env.update({ start: '1' }, { defaultsWhenInvalid: new Map() });
    const expected = new Map([['start', '1']]);
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        fwSetenv(s.config, `tool_${i}`, String(i));
        expected.set(`tool_${i}`, String(i));
      } else {
        await s.env.update({ [`ours_${i}`]: String(i) });
        expected.set(`ours_${i}`, String(i));
      }
      assert.is(fwPrintenv(s.config), printed(expected), `turn ${i}`);
      assert.equal([...sortVars(await s.env.read())], [...sortVars(expected)]);
    }
    const raw = readFileSync(s.image);
    const copies = [splitCopy(raw.subarray(0, sizeBytes), true), splitCopy(raw.subarray(sizeBytes), true)];
    assert.ok(copies.every((c) => c.crcValid), 'both copies valid after alternating writers');
    const sizes = copies.map((c) => parseData(c.data).size).sort((a, b) => a - b);
    assert.equal(sizes, [expected.size - 1, expected.size], 'the older copy is one change behind');
  } finally { s.cleanup(); }
});

test.run();
