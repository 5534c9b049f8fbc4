/**
 * The manifest of a release image's /etc (agent/src/etc): what lets a device
 * tell which files of /etc the new release changed, without mounting the new
 * slot. Read from the ext4 image with `debugfs -R "rdump /etc DIR"` (e2fsprogs,
 * read-only, no root), then scanned. An image that is not ext4, or has no /etc,
 * gets no manifest: its devices carry their /etc over without a conflict check.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
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

/** Add the /etc manifest of `image` to the release in `out`: its artifact JSON, or undefined (see etcManifestOf). */
export async function addEtcManifest(out: string, image: string): Promise<JsonObject | undefined> {
  const manifest = await etcManifestOf(image);
  if (manifest === undefined) return undefined;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'ota-etc-'));
  try {
    const file = join(dir, 'etc-manifest.json');
    const bytes = encodeManifest(manifest);
    await fsp.writeFile(file, bytes);
    return artifactJson(await addArtifact(out, file, 'etc.json', Math.max(1, bytes.byteLength)), ETC_MANIFEST_ARTIFACT);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function debugfs(image: string, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('debugfs', ['-R', request, image], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { if (err.length < 4000) err += b.toString(); });
    child.on('error', (e) => reject(new OtaError('ETC_MANIFEST_TOOL', `release: reading /etc of ${image}: cannot run debugfs (${e.message}): install e2fsprogs`, { cause: e })));
    child.on('close', (code) => code === 0 ? resolve()
      : reject(new OtaError('ETC_MANIFEST_TOOL', `release: debugfs ${request} on ${image} failed (exit ${code ?? 'signal'}): ${err.trim().split('\n').pop() ?? ''}: check the image with e2fsck -n`)));
  });
}
