/**
 * The roster's pure parts: what a view is checked against (only the rollout's hardware counts, and a device
 * that never named one), noting reports (the same object when nothing changed, so nothing is written),
 * forgetting retired devices, and the refusal's one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkView, forgetDevices, incompleteView, noteReports, type DeviceReport, type Roster } from '../../../fleet/src/status/index.js';

function report(deviceId: string, hardware?: string): DeviceReport {
  return {
    deviceId, version: 1, phase: 'idle', progress: null, lastError: null, booted: 'A', seq: 1, bootId: 'b', updatedAt: '2026-12-01T00:00:00.000Z',
    ...(hardware === undefined ? {} : { hardware }),
  };
}

const roster: Roster = {
  a: { hardware: 'hw1', lastSeen: 't' }, b: { hardware: 'hw2', lastSeen: 't' }, c: { hardware: null, lastSeen: 't' }, d: { hardware: 'hw1', lastSeen: 't' },
};

test('checkView counts the roster devices of the hardware asked for (and those that named none)', () => {
  const seen = new Set(['a']);
  assert.equal(checkView(roster, seen), { expected: 4, seen: 1, missing: ['b', 'c', 'd'] });
  assert.equal(checkView(roster, seen, ['hw1']), { expected: 3, seen: 1, missing: ['c', 'd'] });
  assert.equal(checkView({}, seen), { expected: 0, seen: 0, missing: [] });
});

test('noteReports adds new devices and hardware changes, and returns the same roster when nothing changed', () => {
  assert.is(noteReports(roster, [report('a', 'hw1'), report('c')]), roster, 'a device that names no hardware keeps what the roster knew');
  const next = noteReports(roster, [report('e', 'hw2'), report('a', 'hw3')]);
  assert.equal(Object.keys(next).sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.is(next['a']?.hardware, 'hw3');
  assert.is(roster['a']?.hardware, 'hw1', 'the roster given is not changed');
});

test('forgetDevices removes the ids and names those it did not hold', () => {
  const r = forgetDevices(roster, ['b', 'zz']);
  assert.equal(Object.keys(r.roster).sort(), ['a', 'c', 'd']);
  assert.equal(r.unknown, ['zz']);
});

test('the refusal says what was seen of what was expected, names five missing devices and counts the rest', () => {
  const check = checkView({ ...roster, e: { hardware: 'hw1', lastSeen: 't' }, f: { hardware: 'hw1', lastSeen: 't' }, g: { hardware: 'hw1', lastSeen: 't' } }, new Set(['a']));
  const err = incompleteView(check, 'ota-devices.json', 'rollout start');
  assert.is(err.code, 'FLEET_VIEW_INCOMPLETE');
  assert.match(err.message, /^rollout start: the broker gave status documents of 1 of the 7 devices the roster ota-devices\.json knows \(missing b, c, d, e, f and 1 more\): /);
  assert.match(err.message, /ota-fleet roster forget ID\), or pass --force to go on with the devices seen$/);
});

test.run();
