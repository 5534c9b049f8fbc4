/**
 * The command contract, in-process through runMain and through the real bin
 * files: `ota-fleet keygen`, `ota-fleet release`, `ota-fleet rollout`,
 * `ota-fleet root rotate`, `ota-agent verify`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as agent } from '../../../agent/src/cli/index.js';
import { readEnvelope, readRelease, readRoot, parseStrictJson, METADATA_LIMITS } from '../../../agent/src/formats/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { runMain, tempDir } from '../../support/tools.js';
import { snapshot } from '../../support/trust.js';
import { debianNode18 } from '../../support/node18.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const now = new Date('2030-01-01T00:00:00Z');
const at = '2030-01-02T00:00:00Z';

function image(dir: string, name: string, sizeBytes: number, seed: number): string {
  const buf = Buffer.alloc(sizeBytes);
  for (let k = 0; k < sizeBytes; k++) buf[k] = (k * 31 + seed * 7 + (k >> 9)) & 0xff;
  writeFileSync(join(dir, name), buf);
  return join(dir, name);
}

async function fleetOk(cwd: string, argv: string[]): Promise<string> {
  const r = await runMain(fleet, argv, { cwd, now });
  assert.is(r.code, 0, r.stderr);
  return r.stdout;
}

async function verify(cwd: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(agent, ['verify', ...argv], { cwd, now });
}

test('keygen writes root.json and 0600 private keys; more keys and thresholds on request; never overwrites', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await fleetOk(dir, ['keygen', '--out', 'KEYS', '--release-keys', '3', '--release-threshold', '2', '--root-keys', '2']);
    const env = readEnvelope(parseStrictJson(readFileSync(join(dir, 'KEYS/root.json')), METADATA_LIMITS, 'root'), 'root');
    const root = readRoot(env, 'root');
    assert.equal([root.roles.root.keyids.length, root.roles.root.threshold, root.roles.release.keyids.length, root.roles.release.threshold, root.roles.rollout.keyids.length], [2, 1, 3, 2, 1]);
    assert.is(env.signatures.length, 2);
    const priv = join(dir, 'KEYS/private');
    assert.is(statSync(priv).mode & 0o777, 0o700);
    const files = readdirSync(priv);
    assert.is(files.length, 6);
    for (const f of files) assert.is(statSync(join(priv, f)).mode & 0o777, 0o600, f);
    const again = await runMain(fleet, ['keygen', '--out', 'KEYS'], { cwd: dir, now });
    assert.is(again.code, 1);
    assert.match(again.stderr, /KEYS_EXIST/);
  } finally {
    cleanup();
  }
});

test('release writes segment-hashed artifacts and notice.json; verify accepts it and refuses with typed reasons; verify writes nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    image(dir, 'img.bin', 300_000, 1);
    await fleetOk(dir, ['keygen', '--out', 'KEYS']);
    const out = await fleetOk(dir, ['release', '--image', 'img.bin', '--version', '3', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R', '--expires', '30d', '--segment-size', '65536', '--full-image', 'raw']);
    assert.match(out, /notice\.json \(rollout 1 to every device/);
    const rel = readRelease(readEnvelope(parseStrictJson(readFileSync(join(dir, 'R/release.json')), METADATA_LIMITS, 'r'), 'r'), 'r');
    const bytes = readFileSync(join(dir, 'R', rel.image.path));
    assert.is(rel.image.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(rel.image.segments.map((s) => s.sizeBytes), [65536, 65536, 65536, 65536, 37856]);
    for (const s of rel.image.segments) assert.is(s.sha256, createHash('sha256').update(bytes.subarray(s.offset, s.offset + s.sizeBytes)).digest('hex'));

    const before = snapshot(dir);
    const ok = await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--installed-version', '2', '--now', at]);
    assert.is(ok.code, 0, ok.stderr);
    assert.is(ok.stderr, '');
    assert.match(ok.stdout, /^accepted: release 3 for hw-a \(rollout 1, root v1\): full image targets\/[0-9a-f]{64}\.img, 300000 bytes/);
    assert.is(ok.stdout.split('\n').length, 2, 'one line');
    const cases: [string[], RegExp][] = [
      [['--hardware', 'hw-b', '--now', at], /\[wrong-hardware\]\n$/],
      [['--hardware', 'hw-a', '--now', at, '--installed-version', '4'], /\[rollback\]\n$/],
      [['--hardware', 'hw-a', '--now', at, '--installed-version', '3'], /\[already-installed\]\n$/],
      [['--hardware', 'hw-a', '--now', '2030-03-01T00:00:00Z'], /\[expired\]\n$/],
      [['--hardware', 'hw-a', '--now', '1970-01-01T00:00:00Z', '--time-floor', '2030-02-01T00:00:00Z'], /\[expired\]\n$/],
      [['--hardware', 'hw-a', '--now', at, '--rollout-version', '2'], /\[rollback\]\n$/],
    ];
    for (const [args, reason] of cases) {
      const r = await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', ...args]);
      assert.is(r.code, 1, args.join(' '));
      assert.match(r.stderr, reason);
      assert.is(r.stdout, '');
    }
    for (const bad of ['9e0', '-1', '1.5', '9007199254740992', '0x10', '']) {
      const r = await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--installed-version', bad]);
      assert.is(r.code, 2, `--installed-version ${bad}`);
    }
    // Dates Date.parse would roll over (Feb 31 -> Mar 3) or clamp are usage errors, never another day.
    for (const bad of ['2026-02-31T00:00:00Z', '2025-02-29', '2030-13-01T00:00:00Z', '2030-01-01T24:00:00Z', '2030-01-01T00:60:00Z', '2030-01-01T00:00:60Z', '2030-01-01T00:00:00+24:00']) {
      for (const flag of ['--now', '--time-floor']) {
        const r = await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', flag, bad]);
        assert.is(r.code, 2, `${flag} ${bad}`);
        assert.match(r.stderr, /must be an ISO 8601 time/);
      }
    }
    assert.is((await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--now', '2030-01-02T01:00:00+01:00'])).code, 0, 'an offset time');
    assert.equal(snapshot(dir), before, 'verify wrote something');
    writeFileSync(join(dir, 'big.json'), Buffer.alloc(256 * 1024 + 1, 0x20));
    const withBig = snapshot(dir);
    const big = await verify(dir, ['big.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a']);
    assert.is(big.code, 1);
    assert.match(big.stderr, /262145 bytes is over the 262144-byte cap; refused before parsing \[oversize\]\n$/);
    const missing = await verify(dir, ['nope.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a']);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, /\[ENOENT\]\n$/);
    assert.equal(snapshot(dir), withBig, 'verify wrote something');
  } finally {
    cleanup();
  }
});

test('rollout narrows a release to a cohort; root rotate makes a chain an old device follows', async () => {
  const { dir, cleanup } = tempDir();
  try {
    image(dir, 'img.bin', 5000, 2);
    await fleetOk(dir, ['keygen', '--out', 'KEYS']);
    await fleetOk(dir, ['release', '--image', 'img.bin', '--version', '1', '--hardware', 'hw-a', '--hardware', 'hw-b', '--keys', 'KEYS', '--out', 'R']);
    assert.match(await fleetOk(dir, ['root', 'rotate', '--keys', 'KEYS', '--rotate', 'root', '--rotate', 'rollout', '--release-threshold', '1']), /root v2/);
    await fleetOk(dir, ['rollout', '--release', 'R', '--keys', 'KEYS', '--cohort', 'beta', '--spread', '2h', '--out', 'beta.json']);
    const old = ['beta.json', '--root', 'KEYS/roots/1.root.json', '--hardware', 'hw-b', '--now', at];
    const ok = await verify(dir, [...old, '--cohort', 'beta']);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /rollout 2, root v2/);
    assert.match((await verify(dir, [...old, '--cohort', 'alpha'])).stderr, /\[wrong-device\]/);
    // The first notice was signed by the rollout key that v2 retired.
    assert.match((await verify(dir, ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--now', at])).stderr, /\[unknown-key\]/);
  } finally {
    cleanup();
  }
});

test('release with a delta: verify picks it for its base and refuses it for another (mix-and-match)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const base = image(dir, 'base.bin', 4000, 3);
    image(dir, 'img.bin', 8000, 4); // a release image is at least 4096 bytes (MIN_IMAGE_BYTES)
    image(dir, 'd.delta', 900, 5);
    await fleetOk(dir, ['keygen', '--out', 'KEYS']);
    // Placeholder bytes, not an otadelta container (which the fleet cuts on its own boundaries): another format name.
    await fleetOk(dir, ['release', '--image', 'img.bin', '--version', '2', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R', '--delta', 'd.delta@base.bin', '--delta-format', 'opaque']);
    const baseSha = createHash('sha256').update(readFileSync(base)).digest('hex');
    const common = ['R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--now', at, '--current-size', '4000'];
    const r = await verify(dir, [...common, '--current-sha256', baseSha]);
    assert.is(r.code, 0, r.stderr);
    // a delta in a format this agent cannot apply is never picked on its own: the full image is (docs/trust.md)
    assert.not.match(r.stdout, /delta from/);
    const deltaPath = /"path":"(targets\/[0-9a-f]{64}\.delta)"/.exec(readFileSync(join(dir, 'R', 'release.json'), 'utf8'))?.[1] ?? '';
    const named = await verify(dir, [...common, '--current-sha256', baseSha, '--artifact', deltaPath]);
    assert.is(named.code, 0, named.stderr);
    assert.match(named.stdout, `delta from ${baseSha.slice(0, 12)} ${deltaPath}, 900 bytes`);
    const other = await verify(dir, [...common, '--current-sha256', '0'.repeat(64), '--artifact', deltaPath]);
    assert.is(other.code, 1);
    assert.match(other.stderr, /\[mix-and-match\]/);
    assert.match((await verify(dir, [...common, '--current-sha256', '0'.repeat(64)])).stdout, /full image/);
  } finally {
    cleanup();
  }
});

const node18 = debianNode18();
if ('reason' in node18) console.log(`# the Node 18 run of the bins uses this Node instead: ${node18.reason}`);

test('the real bin files: node bin/ota-fleet.js keygen + release, node bin/ota-agent.js verify (on Debian Node 18 when available)', () => {
  const { dir, cleanup } = tempDir();
  try {
    image(dir, 'img.bin', 70_000, 6);
    const node = 'path' in node18 ? node18.path : process.execPath;
    const run = (bin: string, args: string[]) => spawnSync(node, [join(repo, 'bin', bin), ...args], { cwd: dir, encoding: 'utf8' });
    assert.is(run('ota-fleet.js', ['keygen', '--out', 'KEYS']).status, 0);
    const rel = run('ota-fleet.js', ['release', '--image', 'img.bin', '--version', '7', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R', '--expires', '30d']);
    assert.is(rel.status, 0, rel.stderr);
    const ok = run('ota-agent.js', ['verify', 'R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-a', '--installed-version', '6']);
    assert.is(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^accepted: release 7 for hw-a/);
    const no = run('ota-agent.js', ['verify', 'R/notice.json', '--root', 'KEYS/root.json', '--hardware', 'hw-z']);
    assert.is(no.status, 1);
    assert.match(no.stderr, /^ota-agent: .*\[wrong-hardware\]\n$/);
  } finally {
    cleanup();
  }
});

test.run();
