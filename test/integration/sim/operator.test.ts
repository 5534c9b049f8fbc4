// The operator's commands on a simulated device: mark-good and mark-bad during a trial (instead of
// the health check), rollback at rest, post-boot on a normal boot, and the refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { encodeJournal, type Job, type State } from '../../../agent/src/machine/index.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { agent, agentOk, armedTwo, fleetOk, fwPrintenv, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';

// Only the tests that read or write the env with u-boot-tools need them; the others always run.
const withEnvTools = gate(missingReason(missingTools('operator commands read back by fw_printenv', 'fw_printenv', 'fw_setenv')));
const CONFIG = 'dev/agent.json';

/** The journal a power cut left in `state`, updating to release 2 (rel2) from A into B. */
function cutJournal(dir: string, state: State, progress: number, saves: Job['saves']): void {
  const noticeBase64 = readFileSync(join(dir, 'rel2/notice.json')).toString('base64');
  writeFileSync(join(dir, 'dev/data/journal.json'), encodeJournal({
    state, highestSequence: 1, job: { noticeBase64, version: 2, sequence: 1, target: 'B', previous: 'A', progress, saves },
  }));
}

/** Every env copy lost (a torn single copy): the boot script starts from its defaults, A first, and saves them. */
function loseEnv(dir: string): void {
  const env = join(dir, 'dev/env.img');
  writeFileSync(env, Buffer.alloc(readFileSync(env).length));
}

/** Power the simulated device on (U-Boot, then post-boot); everything it printed. */
async function simBoot(dir: string): Promise<string> {
  const r = await agentOk(dir, '--config', CONFIG, 'sim', 'boot');
  return r.stdout + r.stderr;
}

async function armed(dir: string): Promise<void> {
  await armedTwo(dir);
  await agentOk(dir, '--config', CONFIG, 'sim', 'boot', '--no-agent');
}

/** Keys, a 2 MiB image v1 on a simulated device, and release 2 (full image) of it in rel2. */
async function releasedTwo(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 2 * 1024 * 1024);
  patchImage(dir, 'v1.img', 'v2.img', 1_800_000, 'two');
  // The raw full image: a test below writes its first segment into slot B by hand, as a cut install leaves it.
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2', '--full-image', 'raw');
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
}

test('mark-good during a trial commits without the health check; rollback then makes A boot next', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    assert.match((await agentOk(t.dir, '--config', CONFIG, 'mark-good')).stdout, 'update installed (release 2)');
    let s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
    assert.match((await agentOk(t.dir, '--config', CONFIG, 'rollback')).stdout, 'slot A (release 1) boots next');
    assert.match(await simBoot(t.dir), 'U-Boot booted slot A');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['committed']], ['A', 'A', 1, 'A']);
  } finally { t.cleanup(); }
});

test('mark-bad during a trial reverts and reboots into A; mark-bad with no good slot left is refused', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    const r = await agentOk(t.dir, '--config', CONFIG, 'mark-bad');
    assert.match(r.stdout, 'simulated reboot: U-Boot booted slot A');
    assert.match(r.stdout, 'update reverted (release 2)');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version']], ['A', 'A', 1]);
    const refused = await agent(t.dir, '--config', CONFIG, 'mark-bad');
    assert.is(refused.code, 1);
    assert.match(refused.stderr, '[NO_GOOD_SLOT]');
  } finally { t.cleanup(); }
});

withEnvTools('post-boot on a normal boot gives the committed slot its tries back; install refuses while a trial is pending', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    const busy = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(busy.code, 1);
    assert.match(busy.stderr, '[MACHINE_BUSY]');
    await agentOk(t.dir, '--config', CONFIG, 'post-boot');
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot', '--no-agent');
    const env = join(t.dir, 'dev/fw_env.config');
    assert.is(fwPrintenv(env).get('BOOT_B_LEFT'), '2', 'the boot script spent one try of the committed slot');
    await agentOk(t.dir, '--config', CONFIG, 'post-boot');
    assert.is(fwPrintenv(env).get('BOOT_B_LEFT'), '3');
  } finally { t.cleanup(); }
});

test('an install cut off mid-way (journal at a checkpoint) carries on from there when run again', async () => {
  const t = tempDir();
  try {
    await releasedTwo(t.dir);
    // The state a power cut leaves after the first 1 MiB segment was written, fsynced and checkpointed.
    const MiB = 1024 * 1024;
    const fd = openSync(join(t.dir, 'dev/slot-B.img'), 'r+');
    writeSync(fd, readFileSync(join(t.dir, 'v2.img')).subarray(0, MiB), 0, MiB, 0);
    closeSync(fd);
    cutJournal(t.dir, 'installing', MiB, { verifying: 1, installing: 1 });
    const abandoned = await agentOk(t.dir, '--config', CONFIG, 'rollback');
    assert.match(abandoned.stdout, 'abandoned the install of release 2');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['primary'], s['phase'], s['lastUpdate']], ['A', 'idle', { outcome: 'failed', version: 2, error: 'abandoned by ota-agent rollback before the trial boot was armed', errorCode: 'UPDATE_ABANDONED', payload: null, payloadReason: null }]);
    cutJournal(t.dir, 'installing', MiB, { verifying: 1, installing: 1 });
    const r = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(r.stdout, 'resuming the interrupted install of release 2');
    assert.match(r.stdout, `resumeAtBytes=${MiB}`);
    assert.match(r.stdout, 'armed its trial boot');
    await simBoot(t.dir);
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))));
    assert.equal((await statusJson(t.dir, CONFIG))['version'], 2);
  } finally { t.cleanup(); }
});

// Found by the QEMU power-cut scenario: each boot that resumed a cut install spent a try of the
// committed slot (post-boot refilled only at rest), while the slot being written stayed in
// BOOT_ORDER with its tries (the script's default "A B" after a lost env): a few cuts in a row
// and U-Boot booted the half-written slot.
withEnvTools('post-boot resuming an install before arming refills the booted slot first, and the slot being written leaves the boot order', async () => {
  const t = tempDir();
  try {
    await releasedTwo(t.dir);
    // a power cut during the install, then boots whose script ran but whose agent never got far
    cutJournal(t.dir, 'installing', 0, { verifying: 1, installing: 1 });
    await agentOk(t.dir, '--config', CONFIG, 'env', 'set', 'BOOT_ORDER=A B', 'BOOT_A_LEFT=1', 'BOOT_B_LEFT=3');
    // this device has no artifact mirror: the resumed install fails after it has begun, and is reported
    await agentOk(t.dir, '--config', CONFIG, 'post-boot');
    const env = fwPrintenv(join(t.dir, 'dev/fw_env.config'));
    assert.equal([env.get('BOOT_ORDER'), env.get('BOOT_A_LEFT'), env.get('BOOT_B_LEFT')], ['A', '3', '0'],
      'A has its tries back; B, whose content the install had begun to replace, is out of the boot order');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['primary'], s['phase']], ['A', 'idle']);
    assert.match(JSON.stringify(s['lastUpdate']), '"outcome":"failed"');
  } finally { t.cleanup(); }
});

// Found by the QEMU power-cut scenario (NOR board, seed 909976708): the trial passed on B, the commit's
// env write was cut, and U-Boot's own save at the next power-on was cut too; the torn single copy made
// U-Boot use its default env, which boots A. post-boot resumed `committing` on A, marked B good (second
// in "A B") and reported release 2 installed while the device ran release 1, and kept booting A.
withEnvTools('committing resumed on the old slot after the env was lost: B becomes primary again, the device reboots into B, checks it and commits', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    // the journal as the trial boot of B left it: health check passed, the commit's env write not made
    cutJournal(t.dir, 'committing', 1024 * 1024, { checking: 1, committing: 1 });
    loseEnv(t.dir);
    const out = await simBoot(t.dir);
    assert.match(out, 'committing -reboot-> rebooting', `post-boot on A reboots into the committed slot:\n${out}`);
    assert.match(out, 'checking -ok-> committing', 'the trial boot of B ran its health check again');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
    const env = fwPrintenv(join(t.dir, 'dev/fw_env.config'));
    assert.equal([env.get('BOOT_ORDER'), env.get('BOOT_B_LEFT'), env.has('OTA_TRIAL')], ['B A', '3', false], 'B committed first in the boot order');
  } finally { t.cleanup(); }
});

// The same loss one step earlier: U-Boot's save on the trial boot of B is torn, and its defaults boot A
// with B committed-looking (tries, no trial). A fall-back never gives B its tries back: the trial did
// not run, so the agent arms it again instead of failing release 2 for good.
test('the env lost during the trial boot: the agent on A arms the trial again; B boots, passes, commits', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    loseEnv(t.dir);
    const out = await simBoot(t.dir);
    assert.match(out, 'the boot env lost the trial of slot B', out);
    assert.match(out, 'checking -rearm-> arming');
    assert.match(out, 'committed slot B (release 2)');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
  } finally { t.cleanup(); }
});

// The same loss at rest: release 2 committed on B, then a power cut tears U-Boot's save of the single
// env copy and its defaults boot A. Before, post-boot recorded A as committed: the device ran release 1
// for good, with the anti-rollback floor at 2, which refuses release 2's notice.
withEnvTools('the env lost at rest after a commit: post-boot on A tries the committed slot B again; B boots, passes, commits', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    await agentOk(t.dir, '--config', CONFIG, 'mark-good');
    await simBoot(t.dir);
    loseEnv(t.dir);
    const out = await simBoot(t.dir);
    assert.match(out, 'U-Boot booted slot A', out);
    assert.match(out, 'the boot env lost the commit of slot B (release 2)');
    assert.match(out, 'idle -restore-> arming');
    assert.match(out, 'U-Boot booted slot B');
    assert.match(out, 'committed slot B (release 2)');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['committed'], s['version'], s['lastUpdate']], ['B', 'B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
    const env = fwPrintenv(join(t.dir, 'dev/fw_env.config'));
    assert.equal([env.get('BOOT_ORDER'), env.get('BOOT_B_LEFT'), env.has('OTA_TRIAL')], ['B A', '3', false]);
  } finally { t.cleanup(); }
});

// What the agent must not take for a lost env: a committed slot that stopped booting spends its tries
// and U-Boot falls back; the agent on A then makes A the committed slot, as before.
withEnvTools('a committed slot whose tries ran out (a real fall-back) is not tried again: A becomes the committed slot', async () => {
  const t = tempDir();
  try {
    await armed(t.dir);
    await agentOk(t.dir, '--config', CONFIG, 'mark-good');
    execFileSync('fw_setenv', ['-c', join(t.dir, 'dev/fw_env.config'), 'BOOT_B_LEFT', '0']);
    const out = await simBoot(t.dir);
    assert.match(out, 'U-Boot booted slot A', out);
    assert.not.match(out, 'lost the commit');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['committed'], s['version']], ['A', 'A', 'A', 1]);
  } finally { t.cleanup(); }
});

test('doctor passes on a fresh simulated device and names the env that is not the one U-Boot saved', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 64 * 1024);
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img');
    const good = await agentOk(t.dir, '--config', CONFIG, 'doctor');
    for (const name of ['boot env', 'booted slot', 'slot A', 'slot B', 'clock', 'trusted root', 'data directory', 'broker']) assert.match(good.stdout, `ok   ${name}: `);
    writeFileSync(join(t.dir, 'dev/cmdline'), 'console=ttyAMA0 ota.slot=A ota.boot=7f\n');
    const bad = await agent(t.dir, '--config', CONFIG, 'doctor');
    assert.is(bad.code, 1);
    assert.match(bad.stdout, 'fail boot env: U-Boot passed ota.boot=7f');
    assert.match(bad.stderr, '[DOCTOR_FAILED]');
  } finally { t.cleanup(); }
});

test('one agent at a time: a live holder of the device lock makes install wait; a dead one\'s lock is taken over', async () => {
  const t = tempDir();
  const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 64 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 10, 'two');
    await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2');
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img');
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(t.dir, 'dev/data/agent.lock'), JSON.stringify({ pid: holder.pid, bootId, what: 'run' }));
    const busy = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(busy.code, 1);
    assert.match(busy.stderr, '[AGENT_BUSY]');
    assert.match(busy.stderr, `pid ${String(holder.pid)}, run`);
    await agentOk(t.dir, '--config', CONFIG, 'status');
    await new Promise<void>((resolve) => { holder.once('exit', () => resolve()); holder.kill('SIGKILL'); });
    await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
  } finally {
    holder.kill('SIGKILL');
    t.cleanup();
  }
});

test.run();
