/**
 * The device's own /etc on the systemd slot (systemd-suite.ts): what an operator changes on slot A, read
 * back on each slot, and the rollback that must show A's view again. The pre-init (agent/init/ota-init)
 * mounts /etc as an overlay whose upper is the booted slot's on the data partition; the agent copies
 * A's upper to B's at install (docs/data-partition.md, OSTree's rule for /etc).
 */
import * as assert from 'uvu/assert';
import { STEP_TIMEOUT_MS, type Machine } from '../support/qemu/index.js';

/** What the operator changes on A before the update: the device's versions must show on B. */
export const OPERATOR = {
  hostname: 'ota-field-7',
  /** A line added to the slot's own network file (a changed vendor file). */
  networkLine: 'DNS=10.0.2.3',
  /** A file the slot does not have (an added file). */
  addedFile: '/etc/operator/site.conf',
  addedText: 'site=field-7',
  /** Written on B after the commit: the rollback to A must not show it. */
  onlyOnB: '/etc/operator/only-on-b',
} as const;

const NETWORK_FILE = '/etc/systemd/network/10-eth.network';

/** Device state the update must keep, as the guest sees it, by name. */
export async function deviceState(m: Machine): Promise<Map<string, string>> {
  const kept = new Map<string, string>();
  kept.set('hostname', await m.shell('cat /etc/hostname', STEP_TIMEOUT_MS));
  kept.set('network file', await m.shell(`sha256sum ${NETWORK_FILE}`, STEP_TIMEOUT_MS));
  kept.set('operator-added file', await m.shell(`cat ${OPERATOR.addedFile}`, STEP_TIMEOUT_MS));
  kept.set('machine-id', await m.shell('cat /etc/machine-id', STEP_TIMEOUT_MS));
  kept.set('SSH host keys', await m.shell('cat /etc/ssh/ssh_host_* | sha256sum', STEP_TIMEOUT_MS));
  return kept;
}

/**
 * On A, after provisioning: the operator's changes to /etc (hostname, network file, a new file), then
 * the proof that they and systemd's machine-id live in A's upper on the data partition, not in the
 * read-only slot; returns deviceState.
 */
export async function operatorChangesOnA(m: Machine): Promise<Map<string, string>> {
  const change = [
    `echo ${OPERATOR.hostname} > /etc/hostname`,
    `printf '# the site resolver, added by the operator\\n${OPERATOR.networkLine}\\n' >> ${NETWORK_FILE}`,
    `mkdir -p /etc/operator && echo ${OPERATOR.addedText} > ${OPERATOR.addedFile} && sync && echo changed`,
  ].join(' && ');
  assert.is(await m.shell(change, STEP_TIMEOUT_MS), 'changed', 'the operator changes /etc on A');
  const state = await deviceState(m);
  assert.match(state.get('machine-id') ?? '', /^[0-9a-f]{32}$/, 'systemd made a machine-id on the first boot');
  const upper = '/data/overlay/A/etc/upper';
  for (const [what, path] of [['hostname', 'hostname'], ['machine-id', 'machine-id'], ['operator-added file', 'operator/site.conf']] as const) {
    assert.is(await m.shell(`cat ${upper}/${path}`, STEP_TIMEOUT_MS), state.get(what), `the ${what} is in A's /etc upper on the data partition`);
  }
  assert.match(await m.shell(`cat ${upper}/systemd/network/10-eth.network`, STEP_TIMEOUT_MS), OPERATOR.networkLine, "the changed network file is in A's upper");
  assert.is(await m.shell('cat /run/ota/lower-etc/hostname', STEP_TIMEOUT_MS), 'ota-qemu', "the slot's own /etc is unchanged below");
  return state;
}

/** On B after the commit: A's /etc changes carried over, the release's own change (/etc/ota/version) shown. */
export async function keptOnB(m: Machine, onA: ReadonlyMap<string, string>, version: number): Promise<void> {
  assert.equal(await deviceState(m), onA, 'hostname, network file, operator-added file, machine-id and SSH host keys are the same on B');
  assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), String(version), 'a file the release changed and the device did not shows the release');
  assert.is(await m.shell(`echo b > ${OPERATOR.onlyOnB} && sync && cat ${OPERATOR.onlyOnB}`, STEP_TIMEOUT_MS), 'b');
}

/**
 * `ota-agent rollback` on B (the service stopped first: it holds the agent's lock) and the reboot; QEMU
 * ends with the guest's reboot (exitOnReboot).
 */
export async function rollsBack(m: Machine): Promise<void> {
  const said = await m.shell('systemctl stop ota-agent.service && ota-agent rollback', STEP_TIMEOUT_MS);
  assert.match(said, 'slot A (release 1) boots next', `ota-agent rollback: ${said}`);
  m.send('systemctl reboot\n');
  await m.waitFor('kernel-reboot', { timeoutMs: 4 * STEP_TIMEOUT_MS });
  await m.waitForExit(STEP_TIMEOUT_MS);
}

/** On A after the rollback: A's view again (release 1, the device's state of A, nothing written on B). */
export async function showsA(m: Machine, onA: ReadonlyMap<string, string>): Promise<void> {
  assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), '1', 'A runs release 1 again');
  assert.equal(await deviceState(m), onA, "A's /etc as the device left it");
  assert.is(await m.shell(`test -e ${OPERATOR.onlyOnB} && echo present || echo absent`, STEP_TIMEOUT_MS), 'absent', 'a file written on B is absent on A');
}
