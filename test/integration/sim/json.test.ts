// --json on the commands that report: one object on stdout (log and progress lines on stderr),
// a failure as one object too; JSON log lines carry each state change as fields.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { agent, agentOk, fleetOk, patchImage, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir, type CliRun } from '../../support/tools.js';

const CONFIG = 'dev/agent.json';

/** stdout as exactly one JSON object (a second line, or prose, fails the test). */
function oneObject(r: CliRun): Record<string, unknown> {
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, `one line on stdout, got:\n${r.stdout}`);
  const v: unknown = JSON.parse(lines[0] ?? '');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`not an object: ${r.stdout}`);
  return Object.fromEntries(Object.entries(v));
}

test('release, verify DIR, install, delta info and publish print one JSON object each', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 7000, 'two');
    const rel = await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--name', '2.0.0', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2', '--from', 'v1.img', '--json');
    const r = oneObject(rel);
    assert.equal(Object.keys(r), ['release', 'rollout']);
    assert.match(JSON.stringify(r['release']), /^\{"version":2,"name":"2\.0\.0","expires":"[0-9T:Z-]+","dir":".*rel2","installed":\{"sizeBytes":1048576,"sha256":"[0-9a-f]{64}"\},"deltas":1,"fullImage":"compressed","etcManifest":false,"bootScript":false\}$/);
    assert.match(JSON.stringify(r['rollout']), /^\{"version":1,"expires":"[0-9T:Z-]+","notice":".*notice\.json","noticeBytes":\d+,"devices":\[\],"cohorts":\[\]\}$/);
    assert.match(rel.stderr, /hashing image v2\.img/, 'progress goes to stderr');

    // verify takes the release directory, as install does.
    const v = oneObject(await agentOk(t.dir, 'verify', 'rel2', '--root', 'keys/root.json', '--hardware', 'hw', '--json'));
    assert.equal([v['accepted'], v['hardware'], v['release']], [true, 'hw', { version: 2, name: '2.0.0', expires: Reflect.get(Object(r['release']), 'expires') }]);
    assert.equal(Reflect.get(Object(v['artifact']), 'kind'), 'full', 'no current image given: the full image');

    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const inst = await agentOk(t.dir, '--config', CONFIG, '--log-format', 'json', 'install', 'rel2', '--json');
    assert.equal(oneObject(inst), { result: 'armed', release: { version: 2, name: '2.0.0' }, slot: 'B', rebootRequired: true });
    const events = inst.stderr.split('\n').filter((l) => l !== '').map((l): unknown => JSON.parse(l));
    const named = (e: string): unknown[] => events.filter((x) => typeof x === 'object' && x !== null && Reflect.get(x, 'event') === e);
    assert.ok(named('update.transition').some((x) => Reflect.get(Object(x), 'from') === 'idle' && typeof Reflect.get(Object(x), 'to') === 'string' && typeof Reflect.get(Object(x), 'on') === 'string'), inst.stderr);
    assert.equal(named('slot.armed').map((x) => [Reflect.get(Object(x), 'slot'), Reflect.get(Object(x), 'release')]), [['B', 2]]);
    const progress = named('install.progress').map((x) => [Reflect.get(Object(x), 'doneBytes'), Reflect.get(Object(x), 'totalBytes')]);
    assert.ok(progress.length >= 1 && progress.every(([done, total]) => typeof done === 'number' && done <= Number(total)), inst.stderr);
    assert.is(progress[progress.length - 1]?.[0], progress[progress.length - 1]?.[1], 'the last progress event is the whole artifact');

    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    assert.equal(oneObject(await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2', '--json')),
      { result: 'already-installed', release: { version: 2, name: '2.0.0' }, slot: null, rebootRequired: false });

    const delta = readdirSync(join(t.dir, 'rel2/targets')).find((f) => f.endsWith('.delta'));
    assert.type(delta, 'string');
    const info = oneObject(await fleetOk(t.dir, 'delta', 'info', `rel2/targets/${delta ?? ''}`, '--json'));
    assert.equal([info['full'], Reflect.get(Object(info['target']), 'sizeBytes')], [false, 1024 * 1024]);
    assert.ok(Array.isArray(info['segments']) && info['segments'].length > 0);

    mkdirSync(join(t.dir, 'served'));
    const server = await serveArtifacts(join(t.dir, 'served'));
    try {
      const pub = oneObject(await fleetOk(t.dir, 'publish', '--release', 'rel2', '--artifacts-url', server.url, '--copy-to', 'served', '--json'));
      assert.equal(pub, { release: { version: 2, name: '2.0.0' }, artifactsUrl: server.url, artifactsChecked: true, copied: 2, targeted: 'none', topics: [], served: [] });
    } finally {
      await server.close();
    }
  } finally { t.cleanup(); }
});

test('a failure under --json is one object on stdout too, with the exit code', async () => {
  const t = tempDir();
  try {
    const r = await agent(t.dir, 'verify', 'missing-dir', '--root', 'nope.json', '--hardware', 'hw', '--json');
    assert.is(r.code, 1);
    const o = oneObject(r);
    assert.equal([Reflect.get(Object(o['error']), 'code'), o['exitCode']], ['ENOENT', 1]);
    const usage = await runMain(fleetMain, ['release', '--json', '--image', 'x', '--version', '2.1', '--hardware', 'h', '--keys', 'k', '--out', 'o'], { cwd: t.dir });
    assert.is(usage.code, 2);
    assert.equal([Reflect.get(Object(oneObject(usage)['error']), 'code'), oneObject(usage)['exitCode']], ['USAGE', 2]);
  } finally { t.cleanup(); }
});

test.run();
