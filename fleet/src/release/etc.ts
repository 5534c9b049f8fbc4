/**
 * The manifest of a release image's /etc (agent/src/etc): what lets a device
 * tell which files of /etc the new release changed, without mounting the new
 * slot. Read from the ext4 image with `debugfs -R "rdump /etc DIR"` (e2fsprogs,
 * read-only, no root), then scanned. An image that is not ext4, or has no /etc,
 * gets no manifest: its devices carry their /etc over without a conflict check.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OtaError, describe } from '../../../agent/src/errors/index.js';
import { spawnCommand } from '../../../agent/src/health/index.js';
import { ETC_MANIFEST_ARTIFACT, type JsonObject } from '../../../agent/src/formats/index.js';
import { encodeManifest, scanTree, type EtcManifest } from '../../../agent/src/etc/index.js';
import { addArtifact, artifactJson } from './artifacts.js';

const EXT4_MAGIC_OFFSET = 1080;

/** True when `image` starts with an ext2/3/4 superblock. */
async function isExt4(image: string): Promise<boolean> {
  const fh = await fsp.open(image, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, EXT4_MAGIC_OFFSET);
    return bytesRead === 2 && b.readUInt16LE(0) === 0xef53;
  } finally {
    await fh.close();
  }
}

/** The /etc manifest of the ext4 `image`; undefined when it is not ext4 or has no /etc. */
export async function etcManifestOf(image: string): Promise<EtcManifest | undefined> {
  if (!await isExt4(image)) return undefined;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'ota-etc-'));
  try {
    await debugfs(image, `rdump /etc ${dir}`);
    const etc = join(dir, 'etc');
    if (!(await fsp.stat(etc).catch(() => undefined))?.isDirectory()) return undefined;
    return await scanTree(etc);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Add the /etc manifest of `image` to the release in `out`: its artifact JSON and path count, or undefined (see etcManifestOf). */
export async function addEtcManifest(out: string, image: string): Promise<{ artifact: JsonObject; paths: number } | undefined> {
  const manifest = await etcManifestOf(image);
  if (manifest === undefined) return undefined;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'ota-etc-'));
  try {
    const file = join(dir, 'etc-manifest.json');
    const bytes = encodeManifest(manifest);
    await fsp.writeFile(file, bytes);
    return { artifact: artifactJson(await addArtifact(out, file, 'etc.json', Math.max(1, bytes.byteLength)), ETC_MANIFEST_ARTIFACT), paths: manifest.size };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function debugfs(image: string, request: string): Promise<void> {
  const r = await spawnCommand(['debugfs', '-R', request, image], new AbortController().signal).catch((err: unknown) => {
    throw new OtaError('ETC_MANIFEST_TOOL', `release: reading /etc of ${image}: cannot run debugfs (${describe(err)}): install e2fsprogs`, { cause: err });
  });
  if (r.exitCode !== 0) {
    throw new OtaError('ETC_MANIFEST_TOOL', `release: debugfs ${request} on ${image} failed (${r.exitCode === null ? 'killed' : `exit ${r.exitCode}`}): ${r.stderrTail.split('\n').pop() ?? ''}: check the image with e2fsck -n`);
  }
}
