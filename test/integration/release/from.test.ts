/**
 * `ota-fleet release --from OLD.img`: the delta made in-process by the encoder,
 * one per base, cut on its container's segment boundaries, checked by the
 * agent's `verify` and installed on a simulated device; the bases are checked
 * before anything is written; progress is a bar on a terminal, lines elsewhere.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../../agent/src/cli/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir } from '../../support/tools.js';

const MiB = 1024 * 1024;
const RELEASE = ['--version', '2', '--hardware', 'sim-board', '--keys', 'keys'];

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Keys, v1 (2 MiB) and v2 (v1 with a patch). */
async function images(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 2 * MiB);
  patchImage(dir, 'v1.img', 'v2.img', 700_000, 'release two');
}

/** The delta entries of DIR/release.json (checked field by field by the caller). */
function deltaEntries(releaseDir: string): { path: unknown; format: unknown; base: unknown; segments: unknown }[] {
  const doc: unknown = JSON.parse(readFileSync(join(releaseDir, 'release.json'), 'utf8'));
  const signed = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'signed') : undefined;
  const deltas = typeof signed === 'object' && signed !== null ? Reflect.get(signed, 'deltas') : undefined;
  if (!Array.isArray(deltas)) throw new Error(`no deltas in ${releaseDir}/release.json`);
  return deltas.map((d: unknown) => (typeof d === 'object' && d !== null
    ? { path: Reflect.get(d, 'path'), format: Reflect.get(d, 'format'), base: Reflect.get(d, 'base'), segments: Reflect.get(d, 'segments') }
    : { path: undefined, format: undefined, base: undefined, segments: undefined }));
}

test('release --from v1.img: verify picks the delta for v1, and it installs on a simulated device running v1', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    const r = await fleetOk(t.dir, 'release', '--image', 'v2.img', ...RELEASE, '--out', 'rel2', '--from', 'v1.img');
    assert.match(r.stderr, /making delta 1\/1 from v1\.img: \d+ bytes in \d+ segments\n/, 'plain progress lines off a terminal, on stderr');
    assert.not.match(r.stderr, '\r');
    assert.not.match(r.stdout, 'making delta', 'stdout carries the result only');
    const [entry, ...more] = deltaEntries(join(t.dir, 'rel2'));
    assert.is(more.length, 0);
    assert.is(entry?.format, 'otadelta');
    assert.equal(entry?.base, { sizeBytes: 2 * MiB, sha256: sha256(join(t.dir, 'v1.img')) });
    const header = await readDeltaFileHeader(join(t.dir, 'rel2', String(entry?.path)));
    assert.ok(!header.full, 'a delta, not a full image');
    const sizes = Array.isArray(entry?.segments) ? entry.segments.map((s: unknown) => (typeof s === 'object' && s !== null ? Reflect.get(s, 'sizeBytes') : undefined)) : [];
    assert.equal(sizes, [header.headerSizeBytes, ...header.segments.map((s) => s.payloadSizeBytes)].filter((n) => n > 0), 'cut on the container segments');

    const v = await agentOk(t.dir, 'verify', 'rel2/notice.json', '--root', 'keys/root.json', '--hardware', 'sim-board', '--installed-version', '1',
      '--current-size', String(2 * MiB), '--current-sha256', sha256(join(t.dir, 'v1.img')));
    assert.match(v.stdout, `delta from ${sha256(join(t.dir, 'v1.img')).slice(0, 12)}`);

    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const install = await agentOk(t.dir, '--config', 'dev/agent.json', 'install', 'rel2');
    assert.match(install.stdout, 'kind=delta');
    // progress of the slot's writing among the log lines, one per tenth
    const lines = install.stdout.split('\n').filter((l) => l.startsWith('writing the slot: '));
    assert.ok(lines.length >= 1 && lines.length <= 11, install.stdout);
    assert.match(lines[lines.length - 1] ?? '', /\[#{20}\] 100 % [\d.]+ of [\d.]+ MiB$/);
    await agentOk(t.dir, '--config', 'dev/agent.json', 'sim', 'boot');
    const s = await statusJson(t.dir, 'dev/agent.json');
    assert.equal([s['booted'], s['version']], ['B', 2]);
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');
  } finally { t.cleanup(); }
});

test('release --from v0.img --from v1.img: one delta per base; a device on v0 installs its own', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    patchImage(t.dir, 'v1.img', 'v0.img', 1_200_000, 'release zero');
    await fleetOk(t.dir, 'release', '--image', 'v2.img', ...RELEASE, '--out', 'rel2', '--from', 'v0.img', '--from', 'v1.img');
    const bases = deltaEntries(join(t.dir, 'rel2')).map((d) => (typeof d.base === 'object' && d.base !== null ? Reflect.get(d.base, 'sha256') : undefined));
    assert.equal(bases, [sha256(join(t.dir, 'v0.img')), sha256(join(t.dir, 'v1.img'))]);
    for (const base of ['v0.img', 'v1.img']) {
      const v = await agentOk(t.dir, 'verify', 'rel2/notice.json', '--root', 'keys/root.json', '--hardware', 'sim-board',
        '--current-size', String(2 * MiB), '--current-sha256', sha256(join(t.dir, base)));
      assert.match(v.stdout, `delta from ${sha256(join(t.dir, base)).slice(0, 12)}`, base);
    }
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v0.img', '--version', '1');
    assert.match((await agentOk(t.dir, '--config', 'dev/agent.json', 'install', 'rel2')).stdout, 'kind=delta');
    await agentOk(t.dir, '--config', 'dev/agent.json', 'sim', 'boot');
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');
  } finally { t.cleanup(); }
});

test('release --from a missing base: a clear error naming it, and no release directory', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    const r = await runMain(fleetMain, ['release', '--image', 'v2.img', ...RELEASE, '--out', 'rel2', '--from', 'v1.img', '--from', 'nope.img'], { cwd: t.dir });
    assert.is(r.code, 1);
    assert.match(r.stderr, /--from \S*nope\.img: no such file: name an existing image .*\[RELEASE_INPUT_MISSING\]/);
    assert.ok(!existsSync(join(t.dir, 'rel2')), 'nothing written');
  } finally { t.cleanup(); }
});

test('release --from v1.img with --delta FILE@v1.img: two deltas from one base are refused before anything is written', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    await fleetOk(t.dir, 'delta', 'make', '--from', 'v1.img', '--to', 'v2.img', '--out', 'v2.delta');
    const r = await runMain(fleetMain, ['release', '--image', 'v2.img', ...RELEASE, '--out', 'rel2', '--from', 'v1.img', '--delta', 'v2.delta@v1.img'], { cwd: t.dir });
    assert.is(r.code, 2, 'a usage error: two deltas from one base');
    assert.match(r.stderr, /--from \S*v1\.img and --delta \S*v2\.delta@\S*v1\.img are deltas from the same base image/);
    assert.ok(!existsSync(join(t.dir, 'rel2')), 'nothing written');
  } finally { t.cleanup(); }
});

test('release --delta FILE@BASE: a delta made for other images is refused (base or target), one line, before anything is written', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    patchImage(t.dir, 'v1.img', 'v0.img', 100_000, 'release zero');
    patchImage(t.dir, 'v2.img', 'v3.img', 900_000, 'release three');
    await fleetOk(t.dir, 'delta', 'make', '--from', 'v1.img', '--to', 'v2.img', '--out', 'v2.delta');
    const cases: [string, string, RegExp][] = [
      ['v2.img', 'v2.delta@v0.img', new RegExp(`the delta was made from base sha256 ${sha256(join(t.dir, 'v1.img'))} \\(\\d+ bytes\\), but \\S*v0\\.img is sha256 ${sha256(join(t.dir, 'v0.img'))}`)],
      ['v3.img', 'v2.delta@v1.img', new RegExp(`the delta makes the image sha256 ${sha256(join(t.dir, 'v2.img'))} \\(\\d+ bytes\\), but --image \\S*v3\\.img is sha256 ${sha256(join(t.dir, 'v3.img'))}`)],
    ];
    for (const [image, delta, says] of cases) {
      const r = await runMain(fleetMain, ['release', '--image', image, ...RELEASE, '--out', 'rel', '--delta', delta], { cwd: t.dir });
      assert.is(r.code, 1, r.stdout);
      assert.match(r.stderr, says);
      assert.match(r.stderr, /make the delta between the base devices run and this --image .*\[DELTA_MISMATCH\]\n$/);
      assert.is(r.stderr.trim().split('\n').filter((l) => !l.startsWith('hashing ')).length, 1, `one line besides the progress: ${r.stderr}`);
      assert.ok(!existsSync(join(t.dir, 'rel')), 'nothing written');
    }
    await fleetOk(t.dir, 'release', '--image', 'v2.img', ...RELEASE, '--out', 'rel', '--delta', 'v2.delta@v1.img');
    assert.is(deltaEntries(join(t.dir, 'rel')).length, 1, 'the matching pair is accepted');
  } finally { t.cleanup(); }
});

test('release on a terminal: one bar per step, redrawn in place, each ending at 100 %', async () => {
  const t = tempDir();
  try {
    await images(t.dir);
    let out = '';
    const ctx: CliContext = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => { out += s; return true; }, isTTY: true }, env: process.env, cwd: t.dir, now: () => new Date(),
    };
    assert.is(await fleetMain(['release', '--image', 'v2.img', ...RELEASE, '--out', 'rel2', '--from', 'v1.img'], ctx), 0, out);
    const steps = out.split('\n').filter((l) => l.includes('\r'));
    assert.equal(steps.map((l) => /\r\x1b\[K([a-z]+ [a-z]+)/.exec(l)?.[1]), ['hashing base', 'hashing image', 'making compressed', 'hashing compressed', 'making delta', 'hashing delta']);
    for (const l of steps) assert.match(l.slice(l.lastIndexOf('\r')), /\[#{24}\] 100 % /);
    // Encoding reports the bytes it has done: its bar is drawn between its start and its end, not only at both.
    for (const making of steps.filter((l) => l.includes('making'))) assert.ok(making.split('\r').length - 1 >= 3, JSON.stringify(making));
  } finally { t.cleanup(); }
});

test.run();
