// `ota-agent run` (the real bin, a child process) against a real mosquitto and the fleet's
// artifact server: a notice over MQTT -> verify -> download the delta over HTTP Range ->
// apply into slot B -> arm -> the daemon exits to reboot (`--reboot stop`) -> `sim boot`
// (post-boot health check with the MQTT round-trip through mosquitto) -> commit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveArtifacts, type ArtifactServer } from '../../../fleet/src/serve/index.js';
import { haveMosquitto, startMosquitto, type Broker } from '../../support/mosquitto.js';
import { Observer } from '../../support/mqtt-observer.js';
import { agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = haveMosquitto() ? undefined : missingReason(missingTools('the agent daemon against mosquitto', 'mosquitto'));
const it = gate(skip);
const bin = fileURLToPath(new URL('../../../../bin/ota-agent.js', import.meta.url));
const MiB = 1024 * 1024;

/** Run the real bin until it exits; resolves to its exit code and output. */
function runBin(cwd: string, argv: readonly string[], timeoutMs: number): { exited: Promise<{ code: number | null; out: string }>; kill: () => void; term: () => void } {
  const child = spawn(process.execPath, [bin, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ota-agent ${argv.join(' ')} still running after ${timeoutMs} ms:\n${out}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
  return { exited, kill: () => child.kill('SIGKILL'), term: () => child.kill('SIGTERM') };
}

/** One test's world: a temp dir with fleet keys, a mosquitto, an observer of the device topics, servers and a daemon; all end with the test. */
interface Rig {
  readonly dir: string;
  readonly broker: Broker;
  observer: Observer;
  daemon: ReturnType<typeof runBin> | undefined;
  /** The fleet's artifact server on `sub` (a folder of the rig), closed with the rig. */
  serve(sub: string): Promise<ArtifactServer>;
  /** `sim create dev` on v1.img (release 1) for this broker, with `args` (artifact URLs, protocol). */
  createDevice(...args: string[]): Promise<void>;
  /** Replace top-level fields of dev/agent.json. */
  patchConfig(fields: Readonly<Record<string, unknown>>): void;
}

async function withRig(body: (rig: Rig) => Promise<void>): Promise<void> {
  const t = tempDir();
  const broker = await startMosquitto();
  const servers: ArtifactServer[] = [];
  const configPath = join(t.dir, 'dev/agent.json');
  const rig: Rig = {
    dir: t.dir, broker, observer: await Observer.open(broker.url), daemon: undefined,
    serve: async (sub) => {
      const server = await serveArtifacts(join(t.dir, sub));
      servers.push(server);
      return server;
    },
    createDevice: async (...args) => {
      await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1',
        '--mqtt-url', broker.url, ...args);
    },
    patchConfig: (fields) => {
      const config: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
      assert.ok(typeof config === 'object' && config !== null);
      writeFileSync(configPath, JSON.stringify({ ...config, ...fields }));
    },
  };
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    await body(rig);
  } finally {
    rig.daemon?.kill();
    for (const server of servers) await server.close();
    await rig.observer.close();
    await broker.stop();
    t.cleanup();
  }
}

it('notice over MQTT -> delta download -> install -> arm -> sim boot -> commit; status document and status --json agree', () => withRig(async (rig) => {
  const rel = join(rig.dir, 'rel2');
  writeImage(rig.dir, 'v1.img', 2 * MiB);
  patchImage(rig.dir, 'v1.img', 'v2.img', 300_000, 'release two over the air');
  await fleetOk(rig.dir, 'delta', 'make', '--from', join(rig.dir, 'v1.img'), '--to', join(rig.dir, 'v2.img'), '--out', join(rig.dir, 'v2.delta'));
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2', '--delta', 'v2.delta@v1.img');
  const server = await rig.serve('rel2');
  await rig.createDevice('--artifacts-url', server.url);
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run', '--reboot', 'stop'], 60_000);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'online', 20_000);
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rel, 'notice.json'), 'utf8'));
  const run = await daemon.exited;
  assert.is(run.code, 0, run.out);
  assert.match(run.out, 'kind=delta');
  assert.match(run.out, 'armed a trial boot of slot B');
  assert.ok(server.bytesSent() < statSync(join(rig.dir, 'v2.img')).size / 10, `sent ${server.bytesSent()} bytes: the delta, not the image`);

  const armed = await statusJson(rig.dir, 'dev/agent.json');
  assert.equal([armed['booted'], armed['primary'], armed['phase']], ['A', 'B', 'rebooting']);
  const doc = await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"phase":"rebooting"'));
  const published: unknown = JSON.parse(doc.text);
  assert.ok(typeof published === 'object' && published !== null);
  const pub = Object.fromEntries(Object.entries(published));
  assert.equal([pub['booted'], pub['phase'], pub['version'], pub['slots']], [armed['booted'], armed['phase'], String(armed['version']), { A: 'good', B: 'trial' }]);
  assert.equal([pub['hardware'], pub['lastUpdate']], [armed['hardware'], armed['lastUpdate']]);
  assert.equal([pub['hardware'], pub['lastUpdate']], ['sim-board', null]);
  const root: unknown = JSON.parse(readFileSync(join(rig.dir, 'keys/root.json'), 'utf8'));
  assert.is(pub['rootExpires'], Reflect.get(Object(Reflect.get(Object(root), 'signed')), 'expires'), 'the status document carries the trusted root\'s expiry');

  const boot = await agentOk(rig.dir, '--config', 'dev/agent.json', 'sim', 'boot');
  assert.match(boot.stdout, 'health check fleet (required): passed');
  const done = await statusJson(rig.dir, 'dev/agent.json');
  assert.equal([done['booted'], done['primary'], done['version'], done['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'delta', payloadReason: 'base-matches' }]);
  assert.ok(readFileSync(join(rig.dir, 'dev/slot-B.img')).equals(readFileSync(join(rig.dir, 'v2.img'))));
}));

it('one daemon on a simulated device: a failing required check reverts and reports; the next release commits; SIGTERM ends it cleanly', () => withRig(async (rig) => {
  writeImage(rig.dir, 'v1.img', 1024 * 1024);
  patchImage(rig.dir, 'v1.img', 'v2.img', 1000, 'two');
  patchImage(rig.dir, 'v2.img', 'v3.img', 2000, 'three');
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'pub/rel2');
  await fleetOk(rig.dir, 'release', '--image', 'v3.img', '--version', '3', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'pub/rel3');
  const server = await rig.serve('pub');
  await rig.createDevice('--protocol-version', '4', '--artifacts-url', `${server.url}rel2/`, '--artifacts-url', `${server.url}rel3/`);
  // The application's readiness file is a required check: missing on the first try.
  rig.patchConfig({ health: { deadlineMs: 10_000, checks: [{ kind: 'file', name: 'app-ready', path: join(rig.dir, 'app-ready') }] } });
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run'], 60_000);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'online', 20_000);
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rig.dir, 'pub/rel2/notice.json'), 'utf8'));
  const reverted = await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('required health check failed'), 30_000);
  assert.match(reverted.text, '"phase":"idle"');
  assert.match(reverted.text, '"booted":"A"');
  assert.match(reverted.text, '"version":"1"');
  // The same release again is refused, and the status document says why the device did not move.
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rig.dir, 'pub/rel2/notice.json'), 'utf8'));
  const refused = await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"refusedNotice":{'), 30_000);
  const refusedDoc: unknown = JSON.parse(refused.text);
  assert.ok(typeof refusedDoc === 'object' && refusedDoc !== null);
  const notice: unknown = Reflect.get(refusedDoc, 'refusedNotice');
  assert.ok(typeof notice === 'object' && notice !== null);
  assert.equal([Reflect.get(notice, 'reason'), Reflect.get(notice, 'release'), Reflect.get(notice, 'rollout')], ['failed-before', 2, 1]);

  writeFileSync(join(rig.dir, 'app-ready'), 'ok\n');
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rig.dir, 'pub/rel3/notice.json'), 'utf8'));
  const committed = await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"version":"3"') && m.text.includes('"phase":"idle"'), 30_000);
  assert.match(committed.text, '"lastError":null');
  assert.match(committed.text, '"refusedNotice":null', 'a notice taken clears the refusal');
  assert.match(committed.text, '"booted":"B"');
  const s = await statusJson(rig.dir, 'dev/agent.json');
  assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 3, { outcome: 'installed', version: 3, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
  // The retained document says what status --json says: hardware, and the last update's outcome and release.
  const published: unknown = JSON.parse(committed.text);
  assert.ok(typeof published === 'object' && published !== null);
  assert.equal([Reflect.get(published, 'hardware'), Reflect.get(published, 'lastUpdate')], [s['hardware'], { outcome: 'installed', version: '3', payload: 'full', payloadReason: 'no-delta-for-base', error: null, errorCode: null }]);
  const revertedDoc: unknown = JSON.parse(reverted.text);
  assert.ok(typeof revertedDoc === 'object' && revertedDoc !== null);
  assert.equal(Reflect.get(revertedDoc, 'lastUpdate'), { outcome: 'reverted', version: '2', payload: 'full', payloadReason: 'no-delta-for-base', error: 'required health check failed on slot B', errorCode: 'HEALTH_REQUIRED_FAILED' });

  const from = rig.observer.seen.length;
  daemon.term();
  const end = await daemon.exited;
  assert.is(end.code, 0, end.out);
  assert.match(end.out, 'update reverted');
  assert.match(end.out, 'committed slot B (release 3)');
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'offline', 10_000, from);
}));

it('the broker loses the retained rollout notice (restart without persistence): the daemon installs it from the HTTPS resync', () => withRig(async (rig) => {
  writeImage(rig.dir, 'v1.img', 1024 * 1024);
  patchImage(rig.dir, 'v1.img', 'v2.img', 7000, 'two');
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
  const served = join(rig.dir, 'served');
  const server = await rig.serve('served');
  const pub = await fleetOk(rig.dir, 'publish', '--release', 'rel2', '--broker', rig.broker.url, '--artifacts-url', server.url, '--copy-to', 'served', '--all');
  assert.match(pub.stdout, 'wrote rollout/sim-board.json');
  const notice = readFileSync(join(rig.dir, 'rel2/notice.json'));
  assert.ok(readFileSync(join(served, 'rollout/sim-board.json')).equals(notice), 'the served document is the published notice');
  await rig.observer.close();
  rig.observer = await Observer.open(rig.broker.url, 'ota/v1/rollout/#');
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/rollout/sim-board' && m.retain);
  await rig.observer.close();
  await rig.broker.kill();
  await rig.broker.restart();
  // Retained messages come right after the SUBACK: once our own marker is back, none was kept.
  rig.observer = await Observer.open(rig.broker.url, 'ota/v1/rollout/#');
  await rig.observer.publish('ota/v1/rollout/marker', 'x');
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/rollout/marker');
  assert.not.ok(rig.observer.seen.some((m) => m.topic === 'ota/v1/rollout/sim-board'), 'the restarted broker has no retained notice');

  await rig.createDevice('--artifacts-url', server.url);
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run', '--reboot', 'stop'], 60_000);
  const run = await daemon.exited;
  assert.is(run.code, 0, run.out);
  assert.match(run.out, 'notice from resync: started');
  assert.not.match(run.out, 'notice from rollout');
  assert.match(run.out, 'armed a trial boot of slot B');
  const armed = await statusJson(rig.dir, 'dev/agent.json');
  assert.equal([armed['primary'], armed['phase']], ['B', 'rebooting']);
}));

/**
 * Release 2 made, its files not served yet (an empty folder: every artifact is a 404), a device pointed there
 * with `retry`, and its daemon online; returns the daemon (also `rig.daemon`).
 */
async function onlineWithArtifactsMissing(rig: Rig, retry: { maxRetries: number; firstDelayMs: number; maxDelayMs: number }): Promise<ReturnType<typeof runBin>> {
  writeImage(rig.dir, 'v1.img', MiB);
  patchImage(rig.dir, 'v1.img', 'v2.img', 3000, 'two');
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
  mkdirSync(join(rig.dir, 'served'));
  const server = await rig.serve('served');
  await rig.createDevice('--artifacts-url', server.url);
  rig.patchConfig({ machine: { retry } });
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run', '--reboot', 'stop'], 60_000);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'online', 20_000);
  return daemon;
}

it('the release\'s files are not served yet when the notice comes (404): the device reports the failure, retries the same notice later and installs it', () => withRig(async (rig) => {
  const daemon = await onlineWithArtifactsMissing(rig, { maxRetries: 8, firstDelayMs: 1000, maxDelayMs: 2000 });
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rig.dir, 'rel2/notice.json'), 'utf8'));
  const failed = await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"outcome":"failed"'), 30_000);
  const doc: unknown = JSON.parse(failed.text);
  const last: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'lastUpdate') : undefined;
  assert.ok(typeof last === 'object' && last !== null, failed.text);
  assert.equal([Reflect.get(last, 'version'), Reflect.get(last, 'errorCode')], ['2', 'DOWNLOAD_HTTP'], 'the failure is reported with its cause');
  assert.match(String(Reflect.get(last, 'error')), '404');
  cpSync(join(rig.dir, 'rel2'), join(rig.dir, 'served'), { recursive: true }); // the vendor uploads the files
  const run = await daemon.exited;
  assert.is(run.code, 0, run.out);
  assert.match(run.out, /retrying notice \d+ in \d+ s \(retry 1 of 8\)/);
  assert.match(run.out, 'armed a trial boot of slot B');
  assert.is(run.out.split('notice from ').length - 1, 1, `one notice received, installed on a retry:\n${run.out}`);
}));

it('the agent restarts while a 404 is being retried: the retained notice comes again and the retry goes on at its count, then installs', () => withRig(async (rig) => {
  const first = await onlineWithArtifactsMissing(rig, { maxRetries: 2, firstDelayMs: 8000, maxDelayMs: 8000 });
  await rig.observer.publish('ota/v1/rollout/sim-board', readFileSync(join(rig.dir, 'rel2/notice.json'), 'utf8'), { retain: true });
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"outcome":"failed"'), 30_000);
  first.term(); // before retry 1 (4 to 8 s later) runs
  const stopped = await first.exited;
  assert.match(stopped.out, /retrying notice (\d+) in \d+ s \(retry 1 of 2\)/);
  const dataDir = String(Reflect.get(Object(JSON.parse(readFileSync(join(rig.dir, 'dev/agent.json'), 'utf8'))), 'dataDir'));
  assert.match(readFileSync(resolve(rig.dir, 'dev', dataDir, 'retry.json'), 'utf8'), /"retries":1/, 'the count is on the data partition (dataDir is relative to the config)');
  cpSync(join(rig.dir, 'rel2'), join(rig.dir, 'served'), { recursive: true }); // the vendor uploads the files
  const second = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run', '--reboot', 'stop'], 60_000);
  const run = await second.exited;
  assert.is(run.code, 0, run.out);
  assert.match(run.out, /notice from rollout: duplicate/);
  assert.match(run.out, /retrying notice \d+ in \d+ s \(retry 1 of 2\)/, 'retry 1, scheduled before the restart, again: not one more');
  assert.match(run.out, 'armed a trial boot of slot B');
}));

/** Poll `status --json` until `match` holds (the daemon runs in another process). */
async function statusUntil(dir: string, match: (s: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusJson(dir, 'dev/agent.json');
    if (match(s)) return s;
    if (Date.now() > until) throw new Error(`status never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('the broker dies after the trial boot is armed and comes back: the health round-trip waits for it and the update commits; a duplicate notice installs nothing', () => withRig(async (rig) => {
  writeImage(rig.dir, 'v1.img', 1024 * 1024);
  patchImage(rig.dir, 'v1.img', 'v2.img', 5000, 'two');
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
  const server = await rig.serve('rel2');
  await rig.createDevice('--artifacts-url', server.url);
  // A health check that holds the trial until the test has restarted the broker.
  const gate = join(rig.dir, 'gate');
  rig.patchConfig({ health: { deadlineMs: 30_000, checks: [{ kind: 'command', name: 'gate', argv: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`] }] } });
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run'], 60_000);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'online', 20_000);
  const notice = readFileSync(join(rig.dir, 'rel2/notice.json'), 'utf8');
  await rig.observer.publish('ota/v1/dev/notice', notice);
  await rig.observer.publish('ota/v1/dev/notice', notice);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"phase":"checking"'), 30_000);
  await rig.observer.close();
  await rig.broker.kill();
  await new Promise((r) => setTimeout(r, 500));
  await rig.broker.restart();
  writeFileSync(gate, '');
  const done = await statusUntil(rig.dir, (s) => s['phase'] === 'idle' && s['lastUpdate'] !== null, 30_000);
  assert.equal([done['booted'], done['primary'], done['version'], done['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
  rig.observer = await Observer.open(rig.broker.url);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/status' && m.text.includes('"version":"2"') && m.text.includes('"phase":"idle"'), 20_000);
  daemon.term();
  const end = await daemon.exited;
  assert.is(end.code, 0, end.out);
  assert.is(end.out.split('idle -notice-> verifying').length - 1, 1, `one install from two copies of the notice:\n${end.out}`);
  assert.match(end.out, /notice from notice: (duplicate|invalid)/);
  assert.match(end.out, 'health check fleet (required): passed');
}));

it('a device reboot that kills the agent at once (reboot -f): the rebooting document was acknowledged before the reboot command ran', () => withRig(async (rig) => {
  writeImage(rig.dir, 'v1.img', MiB);
  patchImage(rig.dir, 'v1.img', 'v2.img', 1000, 'two');
  await fleetOk(rig.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
  const server = await rig.serve('rel2');
  await rig.createDevice('--artifacts-url', server.url);
  // the reboot command SIGKILLs the agent that runs it, as a forced reboot ends every process
  rig.patchConfig({ rebootCommand: ['sh', '-c', 'kill -9 $PPID'] });
  const daemon = rig.daemon = runBin(rig.dir, ['--config', 'dev/agent.json', 'run', '--reboot', 'device'], 60_000);
  await rig.observer.waitFor((m) => m.topic === 'ota/v1/dev/availability' && m.text === 'online', 20_000);
  await rig.observer.publish('ota/v1/dev/notice', readFileSync(join(rig.dir, 'rel2', 'notice.json'), 'utf8'));
  const run = await daemon.exited;
  assert.is(run.code, null, `killed by its reboot command:\n${run.out}`);
  assert.match(run.out, 'rebooting: sh -c kill -9 $PPID');
  assert.not.match(run.out, 'did not acknowledge');
  // a fresh subscriber gets what the broker retained: the last document is the rebooting one
  const late = await Observer.open(rig.broker.url, 'ota/v1/dev/status');
  try {
    const retained = await late.waitFor((m) => m.topic === 'ota/v1/dev/status', 10_000);
    const doc = Object.fromEntries(Object.entries(Object(JSON.parse(retained.text))));
    assert.equal([doc['phase'], doc['booted'], doc['slots']], ['rebooting', 'A', { A: 'good', B: 'trial' }]);
  } finally {
    await late.close();
  }
}));

test.run();
