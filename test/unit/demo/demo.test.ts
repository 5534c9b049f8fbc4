/**
 * The demo's parts that need no processes: the gzip members of its man pages (as
 * GNU `gzip -n -9` makes them), how devices are sorted into outcomes from their
 * status documents, the device line, and what counts as a run that told its story.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { buildImages, deviceLine, gzipN9, outcomes, storyProblems, summaryText, type DemoSummary } from '../../../fleet/src/demo/index.js';
import type { DeviceReport } from '../../../fleet/src/status/index.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';

function report(deviceId: string, version: number, phase: string, lastError: string | null, booted = 'A'): DeviceReport {
  return { deviceId, version, phase, progress: null, lastError, booted, seq: 1, bootId: 'b', updatedAt: '2026-01-01T00:00:00Z' };
}

const manPage = Buffer.from(Array.from({ length: 4000 }, (_, k) => `line ${k % 97} of a man page\n`).join(''));

test('gzipN9 makes a member that inflates to the input', () => {
  assert.ok(gunzipSync(gzipN9(manPage)).equals(manPage));
});

gate(missingReason(missingTools('gzipN9 against GNU gzip', 'gzip')))('gzipN9 makes the member GNU gzip -n -9 makes, byte for byte', () => {
  assert.ok(Buffer.from(gzipN9(manPage)).equals(execFileSync('gzip', ['-n', '-9', '-c'], { input: manPage })));
});

test('outcomes: committed on the release, reverted with its error, untouched', () => {
  const reports = new Map([
    ['a', report('a', 2, 'idle', null, 'B')],
    ['b', report('b', 1, 'idle', 'required health check failed on slot B')],
    ['c', report('c', 1, 'idle', null)],
  ]);
  const o = outcomes(['a', 'b', 'c', 'd'], reports, 2, (id) => (id === 'b' ? ['health check x (required): FAILED'] : []));
  assert.equal(o.updated, ['a']);
  assert.equal(o.reverted, [{ deviceId: 'b', version: 1, booted: 'A', error: 'required health check failed on slot B', failedChecks: ['health check x (required): FAILED'] }]);
  assert.equal(o.untouched, ['c', 'd']);
});

test('deviceLine: version, phase, progress bar while installing, error, failing mark', () => {
  const line = deviceLine('dev-01', { ...report('dev-01', 1, 'installing', null), progress: 0.5 }, true, false);
  assert.match(line, /dev-01 +v1 +installing +\[########\.{8}\] +50 %/);
  const failed = deviceLine('dev-02', report('dev-02', 1, 'idle', 'required health check failed on slot B'), true, true);
  assert.match(failed, /^! dev-02/);
  assert.match(failed, 'error: required health check failed on slot B');
  assert.match(deviceLine('dev-03', undefined, undefined, false), 'no status yet');
});

const base: DemoSummary = {
  rolloutId: 'r', rolloutStatus: 'completed', stagesPercent: [25, 50, 100], failureThresholdPercent: 25, releaseVersion: 2, failingDevice: 'd',
  updated: ['a', 'b', 'c'], reverted: [{ deviceId: 'd', version: 1, booted: 'A', error: 'e', failedChecks: [] }], untouched: [],
  bytesSent: 30_000, imageSizeBytes: 8 << 20, deltaSizeBytes: 7000, devices: 4, imageKind: 'ext4', seconds: 20,
};

test('storyProblems: a completed run with the one revert tells the story; other endings are named', () => {
  assert.equal(storyProblems(base, false), []);
  assert.equal(storyProblems({ ...base, rolloutStatus: 'halted' }, true), []);
  assert.match(storyProblems({ ...base, rolloutStatus: 'halted' }, false).join(';'), 'meant to complete');
  assert.match(storyProblems({ ...base, reverted: [] }, false).join(';'), 'did not revert');
  assert.match(summaryText(base), /artifact server sent 29\.3 KiB .* 32\.0 MiB: 0\.09 %/);
});

test('buildImages without mke2fs: plain file images of the given size that differ where v2 changed', async () => {
  const t = tempDir();
  try {
    const images = await buildImages(t.dir, 8 << 20, 'plain');
    const v1 = readFileSync(images.v1Path);
    const v2 = readFileSync(images.v2Path);
    assert.equal([images.kind, v1.length, v2.length], ['plain', 8 << 20, 8 << 20]);
    assert.ok(!v1.equals(v2));
    assert.ok(v1.includes(Buffer.from('VERSION_ID="1.0.0"')) && v2.includes(Buffer.from('VERSION_ID="1.0.1"')));
  } finally {
    t.cleanup();
  }
});

test.run();
