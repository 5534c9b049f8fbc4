/**
 * Every fault at every port, once and as a crash loop: whatever happens, the
 * machine reaches rest with the bootloader booting the slot that runs, that slot
 * committed, reports that agree, and a new slot committed only with the whole image.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, states } from '../../../agent/src/machine/index.js';
import type { State } from '../../../agent/src/machine/index.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice, nextBoot, powerOn, refreshBooted } from '../../support/fake-device.js';
import type { Fault, PortName } from '../../support/fake-device.js';
import { idleTimers } from '../../support/idle-timers.js';

const ports: PortName[] = ['verify', 'install', 'verifySlot', 'arm', 'reboot', 'health', 'commit', 'revert', 'report'];
const faults: Fault[] = ['error', 'hang', 'cutBefore', 'cutAfter'];
const deadlinesMs: Partial<Record<State, number>> = {};
for (const s of states) deadlinesMs[s] = 30;

for (const healthy of [true, false]) {
  for (const port of ports) {
    test(`${port}: every fault, once and sticky (healthy slot: ${String(healthy)})`, async () => {
      for (const fault of faults) {
        for (const sticky of [false, true]) {
          const where = `${port}/${fault}${sticky ? '/sticky' : ''}`;
          const device = freshDevice();
          const journal = new MemoryJournal();
          let controller = new AbortController();
          const fake = new FakePorts(device, () => controller.abort());
          fake.healthy = healthy;
          fake.faults.set(port, fault);
          if (sticky) fake.sticky.add(port);
          const first = new Machine(fake, journal, { deadlinesMs, timers: idleTimers });
          await first.resume(controller.signal);
          let result = await first.start(fakeNotice({ version: 2, sequence: 1, image: 'v2-image' }), controller.signal);
          for (let restarts = 0; result.kind === 'stopped'; restarts++) {
            assert.ok(restarts < 12, `${where}: no convergence`);
            powerOn(device);
            controller = new AbortController();
            result = await new Machine(fake, journal, { deadlinesMs, timers: idleTimers }).resume(controller.signal);
          }
          refreshBooted(device);
          assert.is(nextBoot(device), device.booted, `${where}: bootloader boots the running slot`);
          assert.is(device.slots[device.booted]?.state, 'good', `${where}: running slot committed`);
          // Reporting is at least once (a cut after the report repeats it): repeats must agree.
          assert.ok(new Set(device.reports.map((r) => JSON.stringify(r))).size <= 1, `${where}: reports agree`);
          const outcome = result.record.last?.outcome;
          if (device.booted === 'B') {
            assert.is(outcome, 'installed', where);
            assert.is(device.slots['B']?.content, 'v2-image', `${where}: committed slot holds the whole image`);
          } else {
            assert.ok(outcome !== 'installed', `${where}: not installed while running the old slot (${String(outcome)})`);
          }
          if (!healthy) assert.is(device.booted, 'A', `${where}: an unhealthy slot is never kept`);
        }
      }
    });
  }
}

test.run();
