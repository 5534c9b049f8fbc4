// A release's human version (`--name 2.1.0`): signed in release.json beside the integer that
// decides anti-rollback, shown by release, verify and install; release's flags all checked
// before any file is read; release and keygen print what they signed and when it expires.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir } from '../../support/tools.js';

const NOW = new Date('2027-03-01T12:00:00Z');

function release(dir: string, ...extra: string[]): ReturnType<typeof runMain> {
  return runMain(fleetMain, ['release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', ...extra], { cwd: dir, now: NOW });
}

test('--name is signed with the release and shown by release, verify and install', async () => {
  const t = tempDir();
  try {
    const keygen = await runMain(fleetMain, ['keygen', '--out', 'keys'], { cwd: t.dir, now: NOW });
    assert.match(keygen.stdout, /\(root v1: root 1-of-1, release 1-of-1, rollout 1-of-1\), expires 2028-02-29T12:00:00Z\n$/);
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 5000, 'two');
    const r = await release(t.dir, '--out', 'rel2', '--name', '2.1.0-rc1+build.7', '--segment-size', '262144');
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^signed release 2 \(2\.1\.0-rc1\+build\.7\) into .*rel2\/release\.json, expires 2027-03-31T12:00:00Z$/m);
    assert.match(r.stdout, /\(rollout 1 to every device, \d+ bytes\), expires 2027-03-08T12:00:00Z\n$/);
    // Progress goes to stderr, a line per tenth of a long step off a terminal; stdout has the results only.
    assert.match(r.stderr, /^hashing image v2\.img: 50 %$/m);
    assert.not.match(r.stdout, /hashing/);
    const signed: unknown = Reflect.get(JSON.parse(readFileSync(join(t.dir, 'rel2/release.json'), 'utf8')), 'signed');
    assert.is(typeof signed === 'object' && signed !== null ? Reflect.get(signed, 'name') : undefined, '2.1.0-rc1+build.7');
    const verified = await agentOk(t.dir, 'verify', 'rel2/notice.json', '--root', 'keys/root.json', '--hardware', 'hw', '--now', '2027-03-02T00:00:00Z');
    assert.match(verified.stdout, /^accepted: release 2 \(2\.1\.0-rc1\+build\.7\) for hw /);
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const installed = await agentOk(t.dir, '--config', 'dev/agent.json', 'install', 'rel2');
    assert.match(installed.stdout, /^installed release 2 \(2\.1\.0-rc1\+build\.7\) into slot B and armed its trial boot/m);
    await agentOk(t.dir, '--config', 'dev/agent.json', 'sim', 'boot');
    const status = await agentOk(t.dir, '--config', 'dev/agent.json', 'status');
    assert.match(status.stdout, /^device dev \(hw\): running release 2 \(2\.1\.0-rc1\+build\.7\) from slot B/);
    assert.match(status.stdout, /slot A: good .*, release unknown|slot A: good .*, release 1,/);
    const json = await statusJson(t.dir, 'dev/agent.json');
    assert.equal([json['version'], json['name']], [2, '2.1.0-rc1+build.7']);
    // Without --name, the release reads as before (an agent that predates names still takes it).
    const plain = await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '3', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel3');
    assert.match(plain.stdout, /^signed release 3 into /m);
    assert.not.ok(readFileSync(join(t.dir, 'rel3/release.json'), 'utf8').includes('"name"'));
  } finally { t.cleanup(); }
});

test('a bad --name, --version or --expires is a usage error before any file is read or written', async () => {
  const t = tempDir();
  try {
    // No keys and no image here: a refusal that reads them first says ENOENT instead of naming the flag.
    const cases: [string[], RegExp][] = [
      [['--out', 'o', '--name', 'two words '], /--name must be 1\.\.64 printable ASCII characters/],
      [['--out', 'o', '--name', 'x'.repeat(65)], /--name must be/],
      [['--out', 'o', '--name', 'caf\u00e9'], /--name must be/],
      [['--out', 'o', '--expires', 'soon'], /--expires: "soon" is not a duration/],
      [['--out', 'o', '--rollout-expires', '0s'], /expire|--rollout-expires/],
      [['--out', 'o', '--delta', 'nobase'], /--delta nobase: expected DELTA_FILE@BASE_IMAGE/],
    ];
    for (const [extra, message] of cases) {
      const r = await release(t.dir, ...extra);
      assert.is(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /\[USAGE\]/);
    }
    const dotted = await runMain(fleetMain, ['release', '--image', 'v2.img', '--version', '2.1.0', '--hardware', 'hw', '--keys', 'keys', '--out', 'o'], { cwd: t.dir, now: NOW });
    assert.is(dotted.code, 2, dotted.stderr);
    assert.match(dotted.stderr, /--version must be a whole number .*"2\.1\.0".*\[USAGE\]/);
    assert.not.ok(existsSync(join(t.dir, 'o')), 'nothing written');
  } finally { t.cleanup(); }
});

test.run();
