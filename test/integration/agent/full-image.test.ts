// The compressed full image (an otadelta without a base) installs through the streamed delta path and never
// reads the booted slot: the fallback for a drifted base cannot depend on that base. An otadelta offered as
// the full image that does read a base is refused before the slot is opened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectorySource, installArtifact } from '../../../agent/src/install/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readEnvelope, readRelease, type Artifact, type ReleaseMetadata } from '../../../agent/src/formats/index.js';
import { fleetOk, patchImage, writeImage } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function released(dir: string): Promise<ReleaseMetadata> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', MiB);
  patchImage(dir, 'v1.img', 'v2.img', 70_000, 'two');
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel', '--from', 'v1.img');
  return readRelease(readEnvelope(JSON.parse(readFileSync(join(dir, 'rel/release.json'), 'utf8')), 'release'), 'release');
}

function install(dir: string, release: ReleaseMetadata, artifact: Artifact, target: string): Promise<void> {
  return installArtifact({
    artifact, imageSizeBytes: release.installed.sizeBytes, target: { slot: 'B', device: join(dir, target), sizeBytes: release.installed.sizeBytes },
    baseDevice: join(dir, 'no-such-base.img'), source: new DirectorySource(join(dir, 'rel')), spoolDir: join(dir, 'data/download'), fromBytes: 0,
  }, async () => {}, new AbortController().signal);
}

test('the compressed full image installs with no base to read', async () => {
  const t = tempDir();
  try {
    const release = await released(t.dir);
    assert.is(release.image.format, 'otadelta');
    await install(t.dir, release, release.image, 'slot-B.img');
    assert.is(sha(readFileSync(join(t.dir, 'slot-B.img'))), release.installed.sha256);
  } finally { t.cleanup(); }
});

test('an otadelta that reads a base, offered as the full image, is refused before the slot is opened', async () => {
  const t = tempDir();
  try {
    const release = await released(t.dir);
    const delta = release.deltas[0];
    if (delta === undefined) throw new Error('the release has no delta');
    const { base: _base, ...asImage } = delta;
    try {
      await install(t.dir, release, asImage, 'slot-B.img');
      assert.unreachable('installed');
    } catch (err) {
      assert.ok(err instanceof OtaError && err.code === 'ARTIFACT_FORMAT', String(err));
      assert.match(err.message, 'a full image must not need one');
    }
    assert.is(existsSync(join(t.dir, 'slot-B.img')), false);
  } finally { t.cleanup(); }
});

test.run();
