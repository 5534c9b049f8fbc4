/**
 * The scenarios of the power-loss harness: the kill points the issue lists, and injected
 * storage faults, each drawn per seed (which operation, how many bytes of a write land).
 */
import { intBetween, pick } from './prng.js';
import type { Scenario } from './power-harness.js';

type Release = Scenario['release'];

/** Kill points between the persisted steps; each expects the update to finish on its own after the cut. */
export function killPoints(release: Release): Scenario[] {
  const v2 = { version: 2, reinstall: false } as const;
  return [
    { name: 'after notice verified', release, prep: 'fresh', command: 'install', expect: v2,
      kill: (r) => ({ kind: 'any', afterText: 'verifying -ok-> installing', nth: intBetween(r, 1, 6) }) },
    { name: 'mid-download', release, prep: 'installing', command: 'boot', expect: v2,
      kill: (r) => ({ kind: pick(r, ['write', 'rename', 'fsync'] as const), path: 'data/download', afterText: 'installing release', nth: intBetween(r, 1, 3), keepBytes: intBetween(r, 0, 300) }) },
    { name: 'mid-apply', release, prep: 'fresh', command: 'install', expect: v2,
      kill: (r) => ({ kind: 'write', path: 'slot-B.img', nth: intBetween(r, 2, 6), keepBytes: intBetween(r, 0, 70_000) }) },
    { name: 'slot written before fsync', release, prep: 'fresh', command: 'install', expect: v2,
      kill: (r) => ({ kind: 'fsync', path: 'slot-B.img', nth: intBetween(r, 1, 3) }) },
    { name: 'during the arming env write', release, prep: 'fresh', command: 'install', expect: v2,
      kill: (r) => ({ kind: 'write', path: 'env.img', afterText: 'verifyingSlot -ok-> arming', nth: 1, keepBytes: intBetween(r, 0, 0x4000) }) },
    { name: 'after arming before reboot', release, prep: 'fresh', command: 'install', expect: v2,
      kill: (r) => ({ kind: 'any', afterText: 'armed a trial boot', nth: intBetween(r, 1, 5) }) },
    // The install exited (it stops before the reboot): the cut lands before U-Boot runs again.
    { name: 'after the install exited, before reboot', release, prep: 'fresh', command: 'install', expect: v2 },
    { name: 'during the health check', release, prep: 'armed', command: 'boot', expect: v2,
      kill: (r) => ({ kind: 'any', afterText: 'U-Boot booted slot', nth: intBetween(r, 1, 6) }) },
    { name: 'during commit', release, prep: 'armed', command: 'boot', expect: v2,
      kill: (r) => (r() < 0.5
        ? { kind: 'write', path: 'env.img', afterText: 'checking -ok-> committing', nth: 1, keepBytes: intBetween(r, 0, 0x4000) }
        : { kind: 'any', afterText: 'checking -ok-> committing', nth: intBetween(r, 1, 14) }) },
    // Issue 19: the trial's tries and the fall-back slot's ran out unseen; cuts during the fall-back slot's
    // last boot (the script's save, post-boot) and after: the failed trial is reverted, never retried and committed.
    { name: 'during the fall-back slot\'s boots', release, prep: 'spent', command: 'boot', expect: { version: 1, reinstall: false },
      kill: (r) => (r() < 0.5
        ? { kind: 'write', path: 'env.img', nth: intBetween(r, 1, 3), keepBytes: intBetween(r, 0, 0x4000) }
        : { kind: 'any', afterText: 'U-Boot booted slot', nth: intBetween(r, 1, 10) }) },
    { name: 'during revert', release, prep: 'armed', command: 'boot-fail', expect: { version: 1, reinstall: false },
      kill: (r) => (r() < 0.5
        ? { kind: 'write', path: 'env.img', afterText: 'checking -fail-> reverting', nth: intBetween(r, 1, 2), keepBytes: intBetween(r, 0, 0x4000) }
        : { kind: 'any', afterText: 'checking -fail-> reverting', nth: intBetween(r, 1, 14) }) },
  ];
}

/** Storage faults during an install: the agent fails cleanly, and an operator's second install converges. */
export function faultCases(release: Release): Scenario[] {
  const again = { version: 2, reinstall: true } as const;
  return [
    { name: 'EIO once on a slot write', release, prep: 'fresh', command: 'install', expect: again,
      faults: (r) => [{ kind: 'write', path: 'slot-B.img', nth: intBetween(r, 1, 8), error: 'EIO', persistent: false }] },
    { name: 'EIO for good on the slot fsync', release, prep: 'fresh', command: 'install', expect: again,
      faults: (r) => [{ kind: 'fsync', path: 'slot-B.img', nth: intBetween(r, 1, 3), error: 'EIO', persistent: true }] },
    { name: 'ENOSPC on the data partition', release, prep: 'fresh', command: 'install', expect: again,
      faults: (r) => [{ kind: 'write', path: 'data/', afterText: 'installing release', nth: intBetween(r, 1, 4), error: 'ENOSPC', persistent: true }] },
    { name: 'EIO once on the arming env write', release, prep: 'fresh', command: 'install', expect: { version: 1, reinstall: false },
      faults: () => [{ kind: 'write', path: 'env.img', afterText: 'verifyingSlot -ok-> arming', nth: 1, error: 'EIO', persistent: false }] },
  ];
}
