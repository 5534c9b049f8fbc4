import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../agent/src/cli/index.js';
import { formatProgress } from '../../../agent/src/cli/download.js';
import { RangeServer } from '../../support/range-server.js';
import { planFor, randomBytesSeeded } from '../../support/download.js';
import { runMain, tempDir } from '../../support/tools.js';

const BODY = randomBytesSeeded(200_000, 13);

test('ota-agent download: fetches the plan into the file, resuming after a cut; a second run has nothing to do', async () => {
  const s = await new RangeServer(BODY).start();
  const t = tempDir();
  try {
    s.faults.push({ kind: 'cut', afterBytes: 70_000 });
    writeFileSync(join(t.dir, 'plan.json'), JSON.stringify(planFor(BODY, [s.url()], 64 * 1024)));
    const argv = ['download', '--plan', 'plan.json', '--state-dir', '.', '--out', 'slot.img'];
    const r = await runMain(main, argv, { cwd: t.dir });
    assert.is(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(t.dir, 'slot.img')).equals(BODY));
    assert.match(r.stdout, 'downloaded 4 of 4 segments (all verified)');
    assert.match(r.stdout, '100% 195.3 KiB of 195.3 KiB');
    assert.match(r.stderr, 'connection lost after 70000 bytes; resuming');
    const again = await runMain(main, argv, { cwd: t.dir });
    assert.is(again.code, 0);
    assert.match(again.stdout, 'downloaded 0 of 4 segments');
    assert.is(s.requests.length, 2);
  } finally { t.cleanup(); await s.close(); }
});

test('ota-agent download: a bad plan is refused (exit 1, typed), a missing option is a usage error (exit 2)', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'plan.json'), JSON.stringify({ urls: ['http://127.0.0.1:9/f'], totalSizeBytes: 10, segments: [] }));
    const bad = await runMain(main, ['download', '--plan', 'plan.json', '--state-dir', '.', '--out', 'x'], { cwd: t.dir });
    assert.is(bad.code, 1);
    assert.match(bad.stderr, '[DOWNLOAD_BAD_PLAN]');
    const usage = await runMain(main, ['download', '--plan', 'plan.json'], { cwd: t.dir });
    assert.is(usage.code, 2);
  } finally { t.cleanup(); }
});

test('formatProgress: bar, percent, sizes, rate and time left', () => {
  const line = formatProgress({ doneBytes: 786_432, totalSizeBytes: 1_572_864, receivedBytes: 786_432, rateBytesPerSecond: 32_000, etaMs: 24_576 });
  assert.is(line, '[##########----------]  50% 768.0 KiB of 1.5 MiB, 31.3 KiB/s, 0:24 left');
  assert.match(formatProgress({ doneBytes: 0, totalSizeBytes: 10, receivedBytes: 0, rateBytesPerSecond: 0, etaMs: undefined }), '--:-- left');
});

test.run();
