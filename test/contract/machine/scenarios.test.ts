/**
 * The core scenario table (test/support/machine-scenarios.ts), written once and played against every
 * device the machine runs on: the fake (test/support/fake-device.ts, what the sweeps and kill tests
 * use) and the real ports (agentPorts: file-backed slots and U-Boot env, the trust verifier on a
 * signed release, the boot-script simulator running bootloader/boot.cmd for every power-on). Where the
 * two disagreed, the real one was right and the fake was fixed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentPorts, fleetProbeFor, openDevice, refreshBooted as refreshRunning } from '../../../agent/src/device/index.js';
import { DirectorySource } from '../../../agent/src/install/index.js';
import { makeLogger } from '../../../agent/src/log/index.js';
import { loadAgentConfig } from '../../../agent/src/config/index.js';
import type { Report } from '../../../agent/src/machine/index.js';
import { powerOn as simPowerOn } from '../../../agent/src/sim/index.js';
import { BROKEN, FakePorts, MemoryJournal, fakeNotice, freshDevice, loseEnv, nextBoot, powerOn, refreshBooted } from '../../support/fake-device.js';
import { play, scenarios } from '../../support/machine-scenarios.js';
import type { DeviceMaker } from '../../support/machine-scenarios.js';
import { agentOk, fleetOk, patchImage, writeImage } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const fake: DeviceMaker = async (s) => {
  const d = freshDevice();
  d.unseen = s.unseen ?? 0;
  const image = s.broken === true ? `${BROKEN}-v2` : 'v2-image';
  return {
    ports: new FakePorts(d, () => undefined), journal: new MemoryJournal(), reports: d.reports,
    notice: fakeNotice({ version: 2, sequence: 1, image }),
    powerOn: async () => powerOn(d), loseEnv: async () => loseEnv(d), settle: async () => refreshBooted(d), cleanup: () => undefined,
    observe: async () => {
      const slot = d.slots[d.booted];
      // As BootControl reads the env: a committed slot without tries is bad to the bootloader.
      const bootedState = slot?.state === 'trial' ? 'trying' : slot?.state === 'good' && slot.tries > 0 ? 'good' : 'bad';
      return { booted: d.booted, next: nextBoot(d), bootedState, slotBHoldsRelease2: d.slots['B']?.content === image };
    },
  };
};

const fixture = tempDir('ota-scenarios-');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const IMAGE_BYTES = 256 * 1024;

test.before(async () => {
  const dir = fixture.dir;
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', IMAGE_BYTES);
  patchImage(dir, 'v1.img', 'v2.img', 100_000, 'two');
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2');
});
test.after(() => fixture.cleanup());

let made = 0;
const real: DeviceMaker = async (s) => {
  const devDir = join(fixture.dir, `dev-${made++}`);
  await agentOk(fixture.dir, 'sim', 'create', devDir, '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
  const config = await loadAgentConfig(join(devDir, 'agent.json'), devDir);
  const device = await openDevice(config, () => Date.now());
  const script = readFileSync(join(devDir, 'boot.cmd'), 'utf8');
  let unseen = s.unseen ?? 0;
  // A power-on: U-Boot runs the script; a boot that never reaches the agent (a broken trial image,
  // or one the scenario says passes unseen) is followed by the next, as the watchdog would.
  const power = async (): Promise<void> => {
    for (let i = 0; i < 40; i++) {
      const { slot } = await simPowerOn(device.env, config.cmdlinePath, script);
      if (s.broken === true && slot === 'B') continue;
      if (unseen === 0) return;
      unseen--;
    }
    throw new Error('no boot reached the agent in 40 power-ons');
  };
  const reports: Report[] = [];
  const log = makeLogger('text', { write: () => true }, () => new Date(0));
  const ports = agentPorts(device, {
    source: new DirectorySource(join(fixture.dir, 'rel2')), reboot: power, fleet: fleetProbeFor(config, false), log, onReport: (r) => reports.push(r),
  });
  const v2 = sha256(readFileSync(join(fixture.dir, 'v2.img')));
  return {
    ports, journal: device.journal, reports, notice: readFileSync(join(fixture.dir, 'rel2/notice.json')), powerOn: power,
    loseEnv: async () => writeFileSync(join(devDir, 'env.img'), Buffer.alloc(readFileSync(join(devDir, 'env.img')).length)),
    settle: () => refreshRunning(device, log), cleanup: () => undefined,
    observe: async () => {
      const booted = await device.boot.booted();
      return { booted, next: await device.boot.primary(), bootedState: (await device.boot.state(booted)).kind,
        slotBHoldsRelease2: sha256(readFileSync(join(devDir, 'slot-B.img')).subarray(0, IMAGE_BYTES)) === v2 };
    },
  };
};

for (const [name, make] of [['fake', fake], ['real ports, simulated device', real]] as const) {
  for (const s of scenarios) {
    test(`${name}: ${s.name}`, async () => {
      const { chain, device } = await play(s, make);
      try {
        assert.is(chain, s.chain);
        const at = await device.observe();
        assert.is(at.booted, s.booted, 'booted slot at rest');
        assert.is(at.next, s.booted, 'the bootloader boots the slot we run');
        assert.is(at.bootedState, 'good', 'the running slot is committed');
        assert.equal(device.reports.map((r) => r.outcome), [s.outcome], 'exactly one report');
        const loaded = await device.journal.load();
        assert.is(loaded.kind === 'ok' && loaded.record.state, 'idle');
        assert.is(loaded.kind === 'ok' && loaded.record.last?.outcome, s.outcome);
        if (s.outcome === 'installed') assert.ok(at.slotBHoldsRelease2, 'slot B holds release 2 whole');
      } finally { device.cleanup(); }
    });
  }
}

test.run();
