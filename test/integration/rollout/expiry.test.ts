/**
 * Time never strands a fleet: on an injected clock (no sleeping), the running controller signs its rollout
 * document again once half its life is gone, so a device that first hears of it on day 8 of a 7-day
 * document accepts it; `rollout status` prints the document's expiry and warns under a quarter of its life;
 * `ota-fleet status` warns of the retained rollout document, of its release, and of the devices' trusted
 * roots nearing expiry.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { formatUtcTime } from '../../../agent/src/formats/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { loadState, percentToPpm, realPorts, saveState, startRollout, stateFiles, step, type ControllerState } from '../../../fleet/src/rollout/index.js';
import { startBroker } from '../../../fleet/src/serve/index.js';
import { connectFleet } from '../../../fleet/src/status/index.js';
import { HW, makeRig, type Rig } from '../../support/fleet-rig.js';
import { runMain, type CliRun } from '../../support/tools.js';

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / 1000) * 1000; // the release of makeRig was signed just before, for 30 days
const at = (days: number): number => T0 + Math.round(days * DAY);

function state(rig: Rig): ControllerState {
  const policy = { stagesPercent: [100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 1, soakMs: 0 };
  const plan = startRollout('r-expiry', 2, policy, [], T0);
  return {
    format: 'ota-rollout/1', releaseDir: rig.release, keysDir: rig.keys, broker: 'mqtt://127.0.0.1:1', protocolVersion: 4, hardware: [HW], policy,
    rolloutLifetimeMs: 7 * DAY, spreadSeconds: 0, rollout: plan.next, targetPpm: percentToPpm(100), published: null, tracking: {}, tally: plan.tally,
  };
}

/** The device's decision on `notice` on day `days`. */
function verifyAt(rig: Rig, notice: string, days: number): Promise<CliRun> {
  return runMain(agentMain, ['verify', notice, '--root', join(rig.keys, 'root.json'), '--hardware', HW, '--installed-version', '1', '--device-id', 'dev-1',
    '--now', formatUtcTime(at(days))], { cwd: rig.dir });
}

function fleetAt(rig: Rig, days: number, argv: readonly string[]): Promise<CliRun> {
  return runMain(fleetMain, argv, { cwd: rig.dir, now: new Date(at(days)) });
}

test('the controller re-signs at half life on an injected clock; a device on day 8 accepts; rollout status and fleet status warn near expiry', async () => {
  const rig = await makeRig();
  const broker = await startBroker({ port: 0 });
  const client = await connectFleet({ url: broker.url, protocolVersion: 4, clientIdPrefix: 'test-expiry' });
  try {
    const file = join(rig.dir, 'ota-rollout.json');
    await saveState(file, state(rig));
    let nowMs = T0;
    const ports = realPorts(file, client, () => undefined, () => nowMs);
    let s = await step(file, state(rig), [], ports);
    const first = s.published;
    assert.equal([first?.signedAtMs, first?.expiresAtMs], [T0, at(7)], 'signed on day 0 for 7 days');
    writeFileSync(join(rig.dir, 'day0.notice.json'), readFileSync(stateFiles(file).notice));

    nowMs = at(3.49);
    s = await step(file, s, [], ports);
    assert.is(s.published?.rolloutVersion, first?.rolloutVersion, 'not re-signed before half its life');
    nowMs = at(3.5);
    s = await step(file, s, [], ports);
    assert.ok((s.published?.rolloutVersion ?? 0) > (first?.rolloutVersion ?? 0), 're-signed at half its life');
    assert.equal([s.published?.signedAtMs, s.published?.expiresAtMs], [at(3.5), at(10.5)]);

    assert.match((await verifyAt(rig, 'day0.notice.json', 8)).stderr, /\[expired\]/, 'the day-0 document is dead on day 8');
    const day8 = await verifyAt(rig, stateFiles(file).notice, 8);
    assert.is(day8.code, 0, `the re-signed document is accepted on day 8: ${day8.stdout}${day8.stderr}`);

    const early = await fleetAt(rig, 4, ['rollout', 'status']);
    assert.match(early.stdout, new RegExp(`published: rollout document ${s.published?.rolloutVersion ?? '?'} \\(1000000 ppm = 100 %\\), expires ${formatUtcTime(at(10.5))}\\n$`));
    const late = await fleetAt(rig, 9, ['rollout', 'status']);
    assert.match(late.stdout, new RegExp(`\\n  warning: rollout document \\d+ expires ${formatUtcTime(at(10.5))} \\(in 1\\.5 days, under a quarter of its life\\): the running controller re-signs it at half its life: is it running\\? \\(ota-fleet rollout run\\)\\n$`));

    // Over (completed): rollout run from a timer signs the last document again when due, and exits.
    await saveState(file, { ...s, broker: broker.url, rollout: { ...s.rollout, status: 'completed' } });
    const notDue = await fleetAt(rig, 5, ['rollout', 'run', '--settle-ms', '200', '--tick-ms', '50']);
    assert.is(notDue.code, 0, notDue.stdout + notDue.stderr);
    assert.is((await loadState(file)).published?.signedAtMs, at(3.5), 'not due on day 5');
    const due = await fleetAt(rig, 7.5, ['rollout', 'run', '--settle-ms', '200', '--tick-ms', '50']);
    assert.is(due.code, 0, due.stdout + due.stderr);
    assert.equal([(await loadState(file)).published?.signedAtMs, (await loadState(file)).published?.expiresAtMs], [at(7.5), at(14.5)], 're-signed on day 7.5');
    s = await loadState(file);

    // Two devices report their trusted root's expiry (days 380 and 400)
    for (const [id, rootDays] of [['dev-a', 400], ['dev-b', 380]] as const) {
      await client.publishAsync(`ota/v1/${id}/status`, JSON.stringify({
        schema: 'ota-status/1', deviceId: id, version: '1', phase: 'idle', progress: null, lastError: null, booted: 'A', seq: 1, bootId: 'b',
        updatedAt: '2027-01-01T00:00:00.000Z', hardware: HW, rootExpires: formatUtcTime(at(rootDays)),
      }), { qos: 1, retain: true });
    }

    const status = (days: number): Promise<CliRun> => fleetAt(rig, days, ['status', '--broker', broker.url, '--wait-ms', '200']);
    assert.is((await status(8)).stderr, '', 'no warning with most of its life left');
    const near = await status(13);
    assert.is(near.code, 0, near.stderr);
    assert.match(near.stderr, new RegExp(`^ota-fleet: warning: rollout document \\d+ on ota/v1/rollout/${HW} expires ${formatUtcTime(at(14.5))} \\(in 1\\.5 days, under a quarter of its life\\): keep the rollout controller running`));
    const gone = await status(29.5);
    assert.match(gone.stderr, new RegExp(`ota-fleet: warning: rollout document \\d+ on ota/v1/rollout/${HW} expired ${formatUtcTime(at(14.5))}: devices refuse it as \\[expired\\]`));
    assert.not.match(gone.stderr, /trusted root/, 'the roots have a year left');
    const rootNear = await status(360);
    assert.match(rootNear.stderr, new RegExp(`ota-fleet: warning: the trusted root of 1 device expires within 30 days \\(first dev-b, ${formatUtcTime(at(380))}\\): rotate the root`));
    const rootGone = await status(390);
    assert.match(rootGone.stderr, new RegExp(`ota-fleet: warning: the trusted root of 2 devices expires within 30 days \\(first dev-b, ${formatUtcTime(at(380))}; 1 already expired: they refuse every notice\\)`));
    assert.match(gone.stderr, new RegExp(`ota-fleet: warning: release 2 on ota/v1/rollout/${HW} expires \\S+ \\(in 0\\.\\d days\\), before a re-signed rollout would: ota-fleet resign where the release keys are`));
  } finally {
    await client.endAsync();
    await broker.close();
    rig.cleanup();
  }
});

test.run();
