/** Health config validation: defaults, every kind, and refusals that name the field. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DEADLINE_MS, parseHealthConfig } from '../../../agent/src/health/index.js';

test('defaults: no declared checks, the default deadline', () => {
  assert.equal(parseHealthConfig(undefined), { deadlineMs: DEFAULT_DEADLINE_MS, checks: [] });
});

test('names default from the check, level defaults to required', () => {
  const c = parseHealthConfig({ checks: [{ kind: 'file', path: '/etc/os-release' }, { kind: 'systemd', unit: 'sshd.service', level: 'wanted' }] });
  assert.equal(c.checks, [
    { name: 'file:/etc/os-release', level: 'required', kind: 'file', path: '/etc/os-release' },
    { name: 'systemd:sshd.service', level: 'wanted', kind: 'systemd', unit: 'sshd.service' },
  ]);
});

for (const [bad, field] of [
  [{ checks: [{ kind: 'dance' }] }, 'checks[0].kind'],
  [{ checks: [{ kind: 'command', argv: [] }] }, 'checks[0].argv'],
  [{ checks: [{ kind: 'command', argv: ['ok', 3] }] }, 'checks[0].argv[1]'],
  [{ checks: [{ kind: 'http', url: 'ftp://x' }] }, 'checks[0].url'],
  [{ checks: [{ kind: 'file', path: '/x', level: 'maybe' }] }, 'checks[0].level'],
  [{ deadlineMs: -1 }, 'deadlineMs'],
  [{ deadline: 5 }, 'health.deadline'],
  [{ checks: [{ kind: 'file', path: '/x', unit: 'y' }] }, 'checks[0].unit'],
  [{ checks: [{ kind: 'file', path: '/a', name: 'fleet' }] }, 'fleet'],
  [{ checks: [{ kind: 'file', path: '/a', name: 'x' }, { kind: 'file', path: '/b', name: 'x' }] }, 'unique'],
] as const) {
  test(`refuses ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseHealthConfig(bad), (err: unknown) => err instanceof Error && err.message.includes(field) && 'code' in err && err.code === 'CONFIG_INVALID');
  });
}

test.run();
