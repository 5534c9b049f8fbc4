// Issue #17, release channels: a simulated device on `next` at release 12 is switched back to `stable`,
// whose current release is 9, by a signed channel switch (ota-fleet channel switch, the rollout key) sent
// over the embedded broker to the real agent daemon. It installs 9 (lower than 12: the switch authorises
// exactly that), commits, follows `stable` from then on (status and retained topic), refuses release 8
// published on `stable` (the channel's floor is now 9) and refuses a replay of the switch notice. Then a
// power cut (the daemon killed) between the switch accepted and the install done, and bad channel names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { serveArtifacts, startBroker } from '../../../fleet/src/serve/index.js';
import { agent, agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { runMain } from '../../support/tools.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { tempDir } from '../../support/tools.js';

const bin = fileURLToPath(new URL('../../../../bin/ota-agent.js', import.meta.url));

/** `ota-fleet ARGV...` in-process, whatever its exit code. */
const fleet = (cwd: string, ...argv: string[]): ReturnType<typeof runMain> => runMain(fleetMain, argv, { cwd });

/** `v[key]` when `v` is an object, else undefined (parsed JSON, read without casts). */
function member(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined;
}

/** Poll until `ok` holds (each poll is a real read: the daemon is another process), failing with `what` after 30 s. */
async function until(what: () => string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await ok()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('next at 12 -> signed switch to stable at 9: installs 9, commits, refuses 8 on stable and a replay of the switch', async () => {
  const t = tempDir();
  const broker = await startBroker();
  mkdirSync(join(t.dir, 'served'));
  const server = await serveArtifacts(join(t.dir, 'served'));
  let daemon: ChildProcess | undefined;
  let out = '';
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v12.img', 1024 * 1024);
    patchImage(t.dir, 'v12.img', 'v9.img', 4096, 'nine');
    patchImage(t.dir, 'v12.img', 'v8.img', 4096, 'eight');
    const release = (v: string, ...more: string[]): Promise<unknown> =>
      fleetOk(t.dir, 'release', '--image', `v${v}.img`, '--version', v, '--hardware', 'sim-board', '--keys', 'keys', '--out', `rel${v}`, ...more);
    await release('12', '--channel', 'next');
    await release('9');
    await release('8');
    const rel12: unknown = JSON.parse(readFileSync(join(t.dir, 'rel12', 'release.json'), 'utf8'));
    assert.equal(member(member(rel12, 'signed'), 'channels'), ['next']);
    // Offline, as `ota-agent verify` sees them: a `next` notice only for a device on next.
    const verify = (file: string, ...more: string[]): ReturnType<typeof agent> => agent(t.dir, 'verify', file, '--root', 'keys/root.json', '--hardware', 'sim-board', '--device-id', 'dev', ...more);
    assert.match((await verify('rel12/notice.json')).stderr, /\[mix-and-match\]/);
    assert.is((await verify('rel12/notice.json', '--channel', 'next')).code, 0);
    for (const r of ['rel9', 'rel8']) await fleetOk(t.dir, 'publish', '--release', r, '--artifacts-url', server.url, '--copy-to', 'served');
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v12.img', '--version', '12',
      '--channel', 'next', '--mqtt-url', broker.url, '--protocol-version', '4', '--artifacts-url', server.url);
    assert.is((await agentOk(t.dir, '--config', 'dev/agent.json', 'channel')).stdout, 'next\n');

    const child = spawn(process.execPath, [bin, '--config', 'dev/agent.json', 'run'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon = child;
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    await until(() => out, async () => out.includes('mqtt: connected'));
    // The device's retained status documents, as the fleet reads them: the refusal reason is typed there.
    const observer = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    let doc: unknown = {};
    observer.on('message', (_topic, payload) => { doc = JSON.parse(payload.toString()); });
    await observer.subscribeAsync('ota/v1/dev/status', { qos: 1 });
    const refused = (): unknown => member(member(doc, 'refusedNotice'), 'reason');

    await fleetOk(t.dir, 'channel', 'switch', '--keys', 'keys', '--release', 'rel9', '--to', 'stable', '--device', 'dev', '--out', 'switch.json', '--broker', broker.url);
    assert.match((await verify('switch.json', '--channel', 'next', '--installed-version', '12')).stdout, /^accepted: release 9 /);
    assert.match((await verify('switch.json', '--channel', 'stable', '--installed-version', '9', '--switch-counter', '1')).stderr, /\[replay\]/);
    let s = await statusJson(t.dir, 'dev/agent.json');
    await until(() => `${JSON.stringify(s)}\n${out}`, async () => {
      s = await statusJson(t.dir, 'dev/agent.json');
      return s['phase'] === 'idle' && s['lastUpdate'] !== null;
    });
    assert.equal([s['booted'], s['primary'], s['version'], s['channel'], s['lastUpdate']],
      ['B', 'B', 9, 'stable', { outcome: 'installed', version: 9, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }], out);

    // Release 8 on stable, a fresh rollout (so the rollout version is not what refuses it: the floor is), retained on stable's topic.
    await fleetOk(t.dir, 'rollout', '--release', 'rel8', '--keys', 'keys');
    await fleetOk(t.dir, 'publish', '--release', 'rel8', '--artifacts-url', server.url, '--broker', broker.url, '--all');
    await until(() => out, async () => /notice refused: release 8 is older than installed version 9/.test(out));
    await until(() => JSON.stringify(doc), async () => refused() === 'rollback');

    // The very switch notice again, on the device's notice topic.
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      await client.publishAsync('ota/v1/dev/notice', readFileSync(join(t.dir, 'switch.json')), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await until(() => out, async () => /notice refused: channel switch 1 is not above switch 1 already accepted here \(a replayed switch\)/.test(out));
    await until(() => JSON.stringify(doc), async () => refused() === 'replay');
    await observer.endAsync();
    assert.is(member(doc, 'channel'), 'stable');
    s = await statusJson(t.dir, 'dev/agent.json');
    assert.equal([s['booted'], s['version'], s['channel'], s['phase']], ['B', 9, 'stable', 'idle'], out);
    assert.is(out.split(': started').length - 1, 1, out);
  } finally {
    daemon?.kill('SIGKILL');
    await server.close();
    await broker.close();
    t.cleanup();
  }
});

/**
 * A TCP gate in front of the artifact server: while shut it accepts connections and holds them without a byte
 * (the download waits, deterministically); `open` forwards the held ones and every later one.
 */
async function gate(targetUrl: string): Promise<{ url: string; open(): void; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const held: Socket[] = [];
  let opened = false;
  const forward = (s: Socket): void => {
    const t = connect(Number(target.port), target.hostname);
    s.pipe(t).pipe(s);
    s.on('error', () => t.destroy());
    t.on('error', () => s.destroy());
  };
  const server = createServer((s) => { if (opened) forward(s); else { held.push(s); s.on('error', () => undefined); } });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    open: () => { opened = true; for (const s of held.splice(0)) if (!s.destroyed) forward(s); },
    close: async () => { for (const s of held) s.destroy(); await new Promise<void>((r) => server.close(() => r())); },
  };
}

test('power cut between the switch accepted and the install done: after the restart the device is still on stable and finishes installing 9', async () => {
  const t = tempDir();
  const broker = await startBroker();
  mkdirSync(join(t.dir, 'served'));
  const server = await serveArtifacts(join(t.dir, 'served'));
  const mirror = await gate(server.url);
  const daemons: ChildProcess[] = [];
  let out = '';
  const start = (): void => {
    const child = spawn(process.execPath, [bin, '--config', 'dev/agent.json', 'run'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(child);
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  };
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v12.img', 1024 * 1024);
    patchImage(t.dir, 'v12.img', 'v9.img', 4096, 'nine');
    await fleetOk(t.dir, 'release', '--image', 'v9.img', '--version', '9', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel9');
    await fleetOk(t.dir, 'publish', '--release', 'rel9', '--artifacts-url', server.url, '--copy-to', 'served');
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v12.img', '--version', '12',
      '--channel', 'next', '--mqtt-url', broker.url, '--protocol-version', '4', '--artifacts-url', mirror.url);
    start();
    await until(() => out, async () => out.includes('mqtt: connected'));
    await fleetOk(t.dir, 'channel', 'switch', '--keys', 'keys', '--release', 'rel9', '--to', 'stable', '--device', 'dev', '--out', 'switch.json', '--broker', broker.url);
    await until(() => out, async () => out.includes('installing release 9 into slot B'));
    daemons[0]?.kill('SIGKILL'); // the download is held at the gate: the install cannot have finished
    await new Promise<void>((r) => { if (daemons[0]?.exitCode !== null) r(); else daemons[0].once('exit', () => r()); });
    let s = await statusJson(t.dir, 'dev/agent.json');
    assert.equal([s['phase'], s['version'], s['channel'], s['lastUpdate']], ['installing', 12, 'stable', null], out);
    assert.is((await agentOk(t.dir, '--config', 'dev/agent.json', 'channel')).stdout, 'stable\n');

    mirror.open();
    start();
    await until(() => `${JSON.stringify(s)}\n${out}`, async () => {
      s = await statusJson(t.dir, 'dev/agent.json');
      return s['phase'] === 'idle' && s['lastUpdate'] !== null;
    });
    assert.equal([s['booted'], s['version'], s['channel'], member(s['lastUpdate'], 'outcome')], ['B', 9, 'stable', 'installed'], out);
  } finally {
    for (const d of daemons) d.kill('SIGKILL');
    await mirror.close();
    await server.close();
    await broker.close();
    t.cleanup();
  }
});

test('a bad channel name is a typed error and writes nothing: release --channel, sim create --channel, channel set, channel switch --to', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 64 * 1024);
    const bad = await fleet(t.dir, 'release', '--image', 'v1.img', '--version', '1', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel1', '--channel', 'Next Week');
    assert.equal([bad.code, existsSync(join(t.dir, 'rel1')), existsSync(join(t.dir, 'keys', 'rollout.json'))], [1, false, false], bad.stderr);
    assert.match(bad.stderr, /\[CHANNEL_INVALID\]/);
    assert.is((await agent(t.dir, 'sim', 'create', 'bad', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--channel', 'Bad')).code, 1);
    assert.not.ok(existsSync(join(t.dir, 'bad', 'agent.json')));
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const state = readFileSync(join(t.dir, 'dev', 'data', 'state.json'));
    const set = await agent(t.dir, '--config', 'dev/agent.json', 'channel', 'set', 'a/b');
    assert.equal([set.code, /\[CHANNEL_INVALID\]/.test(set.stderr), readFileSync(join(t.dir, 'dev', 'data', 'state.json')).equals(state)], [1, true, true], set.stderr);
    const sw = await fleet(t.dir, 'channel', 'switch', '--keys', 'keys', '--release', 'rel1', '--to', 'UPPER', '--device', 'dev', '--out', 'switch.json');
    assert.equal([sw.code, /\[CHANNEL_INVALID\]/.test(sw.stderr), existsSync(join(t.dir, 'switch.json')), existsSync(join(t.dir, 'keys', 'switch.json'))], [1, true, false, false], sw.stderr);
    // control: a good name goes through, and `channel` prints it
    assert.match((await agentOk(t.dir, '--config', 'dev/agent.json', 'channel', 'set', 'next')).stdout, /following next \(was stable\)/);
    assert.is((await agentOk(t.dir, '--config', 'dev/agent.json', 'channel')).stdout, 'next\n');
  } finally {
    t.cleanup();
  }
});

test.run();
