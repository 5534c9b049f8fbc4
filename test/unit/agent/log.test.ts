// The agent's log lines: text for journald, syslog priority prefixes with OTA_LOG_FORMAT=journal, JSON.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeLogger } from '../../../agent/src/log/index.js';

function capture(format: 'text' | 'json' | 'journal'): { lines: () => string[]; log: ReturnType<typeof makeLogger> } {
  let out = '';
  const log = makeLogger(format, { write: (t: string) => { out += t; } }, () => new Date('2026-01-02T03:04:05.000Z'));
  return { lines: () => out.split('\n').filter((l) => l !== ''), log };
}

test('text: the message, then key=value (quoted when it has spaces), level named unless info', () => {
  const c = capture('text');
  c.log.info('installed', { version: 2, from: 'release dir', skipped: undefined });
  c.log.warn('reverted', { reason: 'health' });
  assert.equal(c.lines(), ['installed version=2 from="release dir"', 'warn: reverted reason=health']);
});

test('journal: sd-daemon priority prefixes', () => {
  const c = capture('journal');
  c.log.info('a');
  c.log.warn('b');
  c.log.error('c');
  assert.equal(c.lines(), ['<6>a', '<4>b', '<3>c']);
});

test('json: one object per line with time and level', () => {
  const c = capture('json');
  c.log.error('update stopped', { code: 'EIO' });
  assert.equal(c.lines().map((l): unknown => JSON.parse(l)), [{ time: '2026-01-02T03:04:05.000Z', level: 'error', message: 'update stopped', code: 'EIO' }]);
});

test.run();
