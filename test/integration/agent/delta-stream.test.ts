// A delta streams from the artifact server into the slot: the release cuts it on its
// container's boundaries, each verified download segment is applied as it arrives, and
// the data directory never holds more than one segment plus small state (no spool of the
// whole delta). Killed with SIGKILL mid-install, a fresh process resumes at the last
// checkpoint, re-fetching at most the segment in flight; the slot hashes right at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectorySource, installArtifact, type ArtifactSource } from '../../../agent/src/install/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { readEnvelope, readRelease, type DeltaArtifact, type ReleaseMetadata } from '../../../agent/src/formats/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { randomBytes } from '../../support/delta.js';
import { treeBytes } from '../../support/delta-install-child.js';
import { mulberry32, intBetween } from '../../support/prng.js';
import { RangeServer } from '../../support/range-server.js';
import { fleetOk } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const CHILD = fileURLToPath(new URL('../../support/delta-install-child.js', import.meta.url));
const MiB = 1024 * 1024;
/** What the data directory may hold besides one segment: the progress file, the download checkpoint, the saved header. */
const SMALL_STATE_BYTES = 16 * 1024;

interface Rig {
  readonly dir: string;
  readonly release: ReleaseMetadata;
  readonly delta: DeltaArtifact;
  readonly v2: Buffer;
  readonly maxSegmentBytes: number;
  readonly cleanup: () => void;
}

/** v1 (4 MiB) and v2 (2 MiB of it new), a delta with small container segments, a release of it. */
async function rig(): Promise<Rig> {
  const t = tempDir();
  const v1 = randomBytes(4 * MiB, 1);
  const v2 = Buffer.from(v1);
  randomBytes(2 * MiB, 2).copy(v2, MiB);
  writeFileSync(join(t.dir, 'v1.img'), v1);
  writeFileSync(join(t.dir, 'v2.img'), v2);
  writeFileSync(join(t.dir, 'v2.delta'), encodeDelta(v1, v2, { segmentDecodedBytes: 256 * 1024 }).delta);
  await fleetOk(t.dir, 'keygen', '--out', 'keys');
  await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel', '--delta', 'v2.delta@v1.img');
  const release = readRelease(readEnvelope(JSON.parse(readFileSync(join(t.dir, 'rel/release.json'), 'utf8')), 'release'), 'release');
  const delta = release.deltas[0];
  assert.ok(delta !== undefined);
  return { dir: t.dir, release, delta, v2, maxSegmentBytes: Math.max(...delta.segments.map((s) => s.sizeBytes)), cleanup: t.cleanup };
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A fresh device data directory and an empty target slot file. */
function device(dir: string, name: string): { dataDir: string; target: string } {
  const dataDir = join(dir, name, 'data');
  mkdirSync(dataDir, { recursive: true });
  const target = join(dir, name, 'slot-B.img');
  writeFileSync(target, '');
  return { dataDir, target };
}

interface ChildRun { readonly lines: string[]; readonly killed: boolean; readonly maxPolledBytes: number }

/** Run the installing child; SIGKILL it `delayMs` after its `killAfter`-th checkpoint line (never when undefined). */
function runChild(r: Rig, url: string, dataDir: string, target: string, killAfter?: number, delayMs = 0): Promise<ChildRun> {
  const args = { release: join(r.dir, 'rel/release.json'), url, dataDir, base: join(r.dir, 'v1.img'), target, targetSizeBytes: r.v2.length };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let killed = false;
    let maxPolledBytes = 0;
    const poll = setInterval(() => {
      try { maxPolledBytes = Math.max(maxPolledBytes, treeBytes(dataDir)); } catch { /* a file went away mid-walk */ }
    }, 5);
    let rest = '';
    child.stdout.on('data', (b: Buffer) => {
      rest += b.toString();
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      const checkpoints = lines.filter((l) => l.startsWith('checkpoint ')).length;
      if (!killed && killAfter !== undefined && checkpoints >= killAfter) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', () => { clearInterval(poll); resolve({ lines, killed, maxPolledBytes }); });
  });
}

function checkpoints(lines: readonly string[]): { progress: number; dataDirBytes: number }[] {
  return lines.filter((l) => l.startsWith('checkpoint ')).map((l) => {
    const [, p, d] = l.split(' ');
    return { progress: Number(p), dataDirBytes: Number(d) };
  });
}

test('the release cuts an otadelta on its container boundaries: segment 0 is the header, then one segment per container segment', async () => {
  const r = await rig();
  try {
    const header = await readDeltaFileHeader(join(r.dir, 'v2.delta'));
    assert.ok(header.segments.length >= 4, `${header.segments.length} container segments`);
    assert.equal(r.delta.segments.map((s) => s.sizeBytes), [header.headerSizeBytes, ...header.segments.map((s) => s.payloadSizeBytes)]);
    const bytes = readFileSync(join(r.dir, 'v2.delta'));
    header.segments.forEach((s, i) => {
      const seg = r.delta.segments[i + 1];
      assert.ok(seg !== undefined);
      assert.is(seg.sha256, Buffer.from(s.sha256).toString('hex'), `segment ${i + 1} is container segment ${i}`);
      assert.is(sha(bytes.subarray(seg.offset, seg.offset + seg.sizeBytes)), seg.sha256);
    });
  } finally {
    r.cleanup();
  }
});

test('an HTTP delta install streams: bytes fetched = the delta size, the data dir never holds more than one segment + small state', async () => {
  const r = await rig();
  const server = await serveArtifacts(join(r.dir, 'rel'));
  try {
    const { dataDir, target } = device(r.dir, 'dev');
    const run = await runChild(r, server.url, dataDir, target);
    assert.is(run.lines[run.lines.length - 1], 'done', run.lines.join('\n'));
    const cps = checkpoints(run.lines);
    assert.is(cps.length, r.delta.segments.length, 'one checkpoint per segment');
    assert.equal(cps.map((c) => c.progress), r.delta.segments.map((s) => s.offset + s.sizeBytes));
    const bound = r.maxSegmentBytes + SMALL_STATE_BYTES;
    const maxAtCheckpoint = Math.max(...cps.map((c) => c.dataDirBytes));
    console.log(`# delta ${r.delta.sizeBytes} bytes in ${r.delta.segments.length} segments (largest ${r.maxSegmentBytes}); fetched ${server.bytesSent()}; data dir at most ${maxAtCheckpoint} (checkpoints), ${run.maxPolledBytes} (polled)`);
    assert.ok(bound < r.delta.sizeBytes / 2, 'the test delta has many segments');
    assert.ok(maxAtCheckpoint <= bound, `data dir held ${maxAtCheckpoint} bytes at a checkpoint, over ${bound}`);
    assert.ok(run.maxPolledBytes <= bound, `data dir held ${run.maxPolledBytes} bytes, over ${bound}`);
    assert.ok(treeBytes(dataDir) <= SMALL_STATE_BYTES, `after the install the data dir holds ${treeBytes(dataDir)} bytes`);
    assert.is(server.bytesSent(), r.delta.sizeBytes, 'each delta byte fetched once');
    assert.is(sha(readFileSync(target)), sha(r.v2));
  } finally {
    await server.close();
    r.cleanup();
  }
});

test('kill -9 mid-delta-install over HTTP: each restart resumes at its checkpoint, re-fetching at most one segment per kill; the slot hashes right', async () => {
  const r = await rig();
  // A paced link (2 MiB/s), so a kill lands inside a segment and little is in flight in socket buffers.
  const server = await new RangeServer(readFileSync(join(r.dir, 'rel', r.delta.path)), { paceBytesPerSecond: 2 * MiB }).start();
  const rng = mulberry32(Number(process.env['OTA_SEED'] ?? 5));
  try {
    const { dataDir, target } = device(r.dir, 'dev');
    let kills = 0;
    let persisted = 0;
    for (let round = 0; round < 40; round++) {
      const killAfter = round < 30 ? intBetween(rng, 1, 2) : undefined;
      const run = await runChild(r, server.url('/'), dataDir, target, killAfter, intBetween(rng, 0, 100));
      const cps = checkpoints(run.lines);
      const first = cps[0];
      if (first !== undefined) assert.ok(first.progress > persisted, `round ${round} started at ${first.progress}, the checkpoint was ${persisted}: it resumed`);
      assert.ok(Math.max(0, ...cps.map((c) => c.dataDirBytes), run.maxPolledBytes) <= r.maxSegmentBytes + SMALL_STATE_BYTES);
      persisted = Number(readFileSync(join(dataDir, 'progress'), 'utf8'));
      if (run.lines.includes('done')) break;
      assert.ok(run.killed, run.lines.join('\n'));
      kills += 1;
    }
    const sent = server.bodyBytesSent;
    console.log(`# kill -9 x${kills}: fetched ${sent} bytes for a ${r.delta.sizeBytes}-byte delta (${(sent / r.delta.sizeBytes).toFixed(3)}x; bound ${r.delta.sizeBytes} + ${kills} x ${r.maxSegmentBytes})`);
    assert.ok(kills >= 3, `${kills} kills landed`);
    assert.ok(sent <= r.delta.sizeBytes + kills * r.maxSegmentBytes, `fetched ${sent}`);
    assert.is(sha(readFileSync(target)), sha(r.v2));
  } finally {
    await server.close();
    r.cleanup();
  }
});

/** The release directory's segments, handed over from the first one whatever `fromBytes` says (a downloader whose checkpoint is behind). */
function fromStart(dir: string): ArtifactSource {
  const inner = new DirectorySource(dir);
  return { description: 'from the start', fetch: (artifact, _fromBytes, consume, signal) => inner.fetch(artifact, 0, consume, signal) };
}

test('a segment handed over again after a crash between apply and checkpoint is skipped; the apply resumes and the slot hashes right', async () => {
  const r = await rig();
  try {
    const { dataDir, target } = device(r.dir, 'dev');
    const plan = {
      artifact: r.delta, imageSizeBytes: r.release.installed.sizeBytes, target: { slot: 'B' as const, device: target, sizeBytes: r.v2.length },
      baseDevice: join(r.dir, 'v1.img'), spoolDir: join(dataDir, 'download'),
    };
    let persisted = 0;
    let calls = 0;
    const crash = new Error('power cut before the checkpoint was saved');
    const first = installArtifact({ ...plan, source: new DirectorySource(join(r.dir, 'rel')), fromBytes: 0 }, async (p) => {
      if (++calls === 3) throw crash; // segment 2 is in the slot, the checkpoint still names the end of segment 1
      persisted = p;
    }, new AbortController().signal);
    await first.then(() => assert.unreachable('the crash stops the install'), (err: unknown) => assert.is(err, crash));
    const seg1 = r.delta.segments[1];
    assert.ok(seg1 !== undefined);
    assert.is(persisted, seg1.offset + seg1.sizeBytes);
    const seen: number[] = [];
    await installArtifact({ ...plan, source: fromStart(join(r.dir, 'rel')), fromBytes: persisted }, async (p) => { seen.push(p); }, new AbortController().signal);
    assert.equal(seen, r.delta.segments.slice(2).map((s) => s.offset + s.sizeBytes), 'segments 0 and 1 skipped, segment 2 applied again, then the rest');
    assert.is(sha(readFileSync(target)), sha(r.v2));
    assert.is(treeBytes(dataDir), 0, 'the saved header is gone');
  } finally {
    r.cleanup();
  }
});

test('the saved header lost after a kill: the install starts over (the downloader drops its checkpoint too) and the slot hashes right', async () => {
  const r = await rig();
  const server = await serveArtifacts(join(r.dir, 'rel'));
  try {
    const { dataDir, target } = device(r.dir, 'dev');
    const killed = await runChild(r, server.url, dataDir, target, 3);
    assert.ok(killed.killed);
    rmSync(join(dataDir, 'download', `${r.delta.sha256}.head`));
    const run = await runChild(r, server.url, dataDir, target);
    assert.is(run.lines[run.lines.length - 1], 'done', run.lines.join('\n'));
    assert.is(checkpoints(run.lines)[0]?.progress, r.delta.segments[0]?.sizeBytes, 'started over at the header');
    assert.is(sha(readFileSync(target)), sha(r.v2));
  } finally {
    await server.close();
    r.cleanup();
  }
});

test.run();
