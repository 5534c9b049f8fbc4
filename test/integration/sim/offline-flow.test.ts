// The simulated device end to end, offline, through the exact CLI forms (in-process):
// ota-fleet keygen/release/delta make -> ota-agent sim create -> install -> sim boot -> status,
// with the env read back by libubootenv's fw_printenv.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { agent, agentOk, fleetOk, fwPrintenv, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';

const skip = missingReason(missingTools('simulated device read back by fw_printenv', 'fw_printenv'));
const it = gate(skip);
const MiB = 1024 * 1024;
const CONFIG = 'dev/agent.json';

/** Keys, a 2 MiB image v1 and a release v2 of it; a device booted into v1. */
async function setup(dir: string, envKind: 'redundant' | 'single' = 'redundant'): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 2 * MiB);
  patchImage(dir, 'v1.img', 'v2.img', 5000, 'release two');
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1', '--env', envKind);
}

function slotOf(status: Record<string, unknown>, slot: string): unknown {
  const slots = status['slots'];
  return typeof slots === 'object' && slots !== null && slot in slots ? Object.entries(slots).find(([k]) => k === slot)?.[1] : undefined;
}

it('full image, then a delta: install arms, sim boot commits, status and fw_printenv agree', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    let s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['A', 'A', 1, null]);
    assert.equal(fwPrintenv(join(t.dir, 'dev/fw_env.config')).get('BOOT_ORDER'), 'A', 'slot B stays out of the boot order until written');

    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(install.stdout, 'kind=full');
    assert.match(install.stdout, 'armed its trial boot');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['phase']], ['A', 'B', 'rebooting']);
    assert.equal(slotOf(s, 'B'), { state: 'trying', triesLeft: 3, version: 2, name: null, device: join(t.dir, 'dev/slot-B.img'), warning: null });

    const boot = await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    assert.match(boot.stdout, 'U-Boot booted slot B');
    assert.match(boot.stdout, 'committed slot B');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['B', 'B', 2, 'idle']);
    assert.equal(s['lastUpdate'], { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' });
    const env = fwPrintenv(join(t.dir, 'dev/fw_env.config'));
    assert.equal([env.get('BOOT_ORDER'), env.get('BOOT_B_LEFT'), env.get('OTA_TRIAL'), env.get('OTA_BOOT_COUNT')], ['B A', '3', undefined, '2']);
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');

    // Release 3 as a delta from v2 (what slot B runs): the agent picks the delta and applies it from B into A.
    patchImage(t.dir, 'v2.img', 'v3.img', 1_500_000, 'release three');
    // Absolute paths: `delta make` reads its paths against the process cwd, not the CLI context's (noted in the report).
    await fleetOk(t.dir, 'delta', 'make', '--from', join(t.dir, 'v2.img'), '--to', join(t.dir, 'v3.img'), '--out', join(t.dir, 'v3.delta'));
    await fleetOk(t.dir, 'release', '--image', 'v3.img', '--version', '3', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel3', '--delta', 'v3.delta@v2.img');
    const delta = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel3');
    assert.match(delta.stdout, 'kind=delta');
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version']], ['A', 'A', 3]);
    assert.ok(readFileSync(join(t.dir, 'dev/slot-A.img')).equals(readFileSync(join(t.dir, 'v3.img'))), 'slot A holds v3 byte for byte');

    const again = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(again.code, 1, 'an older release is refused');
    assert.match(again.stderr, /older than .*\[rollback\]\n$/, again.stderr);
    // Nothing to do is not a failure: exit 0 and say so (scripts tell it from a refusal by the code).
    const same = await agent(t.dir, '--config', CONFIG, 'install', 'rel3');
    assert.is(same.code, 0, same.stderr);
    assert.match(same.stdout, /^release 3 is already installed: nothing changed\n$/);
    assert.equal((await statusJson(t.dir, CONFIG))['lastUpdate'], { outcome: 'installed', version: 3, error: null, errorCode: null, payload: 'delta', payloadReason: 'base-matches' }, 'a refused install wrote to the journal');
  } finally { t.cleanup(); }
});

it('a failing required health check reverts to A on its own, and the release is not retried', async () => {
  const t = tempDir();
  try {
    await setup(t.dir, 'single');
    await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    const boot = await agent(t.dir, '--config', CONFIG, 'sim', 'boot', '--fail-health');
    assert.is(boot.code, 1, 'a boot that reverted the update is a failure for scripts');
    assert.match(boot.stderr, /^ota-agent: sim boot: the trial of release 2 reverted \(required health check failed on slot B\); slot A runs: .*\[UPDATE_REVERTED\]\n$/);
    assert.match(boot.stdout, 'U-Boot booted slot B');
    assert.match(boot.stdout, 'health check fleet (required): FAILED');
    assert.match(boot.stdout, 'simulated reboot: U-Boot booted slot A');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['A', 'A', 1, 'idle']);
    assert.equal(s['lastUpdate'], { outcome: 'reverted', version: 2, error: 'required health check failed on slot B', errorCode: 'HEALTH_REQUIRED_FAILED', payload: 'full', payloadReason: 'no-delta-for-base' });
    assert.is(fwPrintenv(join(t.dir, 'dev/fw_env.config')).get('BOOT_ORDER'), 'A');
    const retry = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(retry.code, 1);
    assert.match(retry.stderr, /already failed its health check.*\[failed-before\]\n$/);
  } finally { t.cleanup(); }
});

it('a trial slot that never reaches the agent: three boots and the counters fall back to A', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    const booted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot', '--no-agent');
      booted.push(/booted slot (\w)/.exec(r.stdout)?.[1] ?? '?');
      assert.not.match(r.stdout, 'health check', '--no-agent runs no post-boot step');
    }
    assert.equal(booted, ['B', 'B', 'B']);
    let s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary']], ['B', 'A'], 'tries of B are spent: the bootloader will boot A');
    assert.is(fwPrintenv(join(t.dir, 'dev/fw_env.config')).get('BOOT_B_LEFT'), '0');
    const back = await agent(t.dir, '--config', CONFIG, 'sim', 'boot');
    assert.is(back.code, 1, 'the boot that fell back reverted the update');
    assert.match(back.stdout, 'U-Boot booted slot A');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version']], ['A', 'A', 1]);
    assert.equal(s['lastUpdate'], { outcome: 'reverted', version: 2, error: 'trial boot of slot B did not reach the agent: the bootloader booted A', errorCode: 'TRIAL_BOOT_FAILED', payload: 'full', payloadReason: 'no-delta-for-base' });
  } finally { t.cleanup(); }
});

it('env print takes the agent config (global --config) or a fw_env.config (-c)', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const viaAgent = await agentOk(t.dir, '--config', CONFIG, 'env', 'print', 'BOOT_ORDER');
    const viaEnv = await agentOk(t.dir, 'env', 'print', '-c', 'dev/fw_env.config', 'BOOT_ORDER');
    const viaAgentAfter = await agentOk(t.dir, 'env', 'print', '--config', CONFIG, 'BOOT_ORDER');
    assert.equal([viaAgent.stdout, viaEnv.stdout, viaAgentAfter.stdout], ['BOOT_ORDER=A\n', 'BOOT_ORDER=A\n', 'BOOT_ORDER=A\n']);
  } finally { t.cleanup(); }
});

it('refusals: wrong hardware, a second sim create in one directory, a missing config', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '5', '--hardware', 'other-board', '--keys', 'keys', '--out', 'rel-other');
    const wrong = await agent(t.dir, '--config', CONFIG, 'install', 'rel-other');
    assert.is(wrong.code, 1);
    assert.match(wrong.stderr, /not sim-board \[wrong-hardware\]\n$/);
    assert.is((await statusJson(t.dir, CONFIG))['primary'], 'A', 'a refused release arms nothing');
    const twice = await agent(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img');
    assert.is(twice.code, 1);
    assert.match(twice.stderr, '[SIM_EXISTS]');
    const missing = await agent(t.dir, '--config', 'nowhere/agent.json', 'status');
    assert.is(missing.code, 78, 'not provisioned: EX_CONFIG');
    assert.match(missing.stderr, 'agent config');
    assert.match(missing.stderr, '[CONFIG_MISSING]');
  } finally { t.cleanup(); }
});

test.run();
