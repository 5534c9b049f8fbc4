/**
 * Releases for the emulated device, made with the fleet's own tools: a new slot image is
 * slot A's ext4 with files changed (debugfs), signed with `ota-fleet release --from` (a delta
 * against the image the device runs) into a release directory a GuestFleet serves.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fleetOk } from '../fleet-rig.js';
import { mulberry32 } from '../prng.js';
import { editExt4Image, extractPartition, run, type Ext4File, type ImageLayout } from './image.js';
import { QEMU_HARDWARE } from './provision.js';

/** A signed release in a directory (`ota-fleet release --out`). */
export interface GuestRelease {
  version: number;
  /** The release directory (notice.json, targets/). */
  dir: string;
  /** The full slot image of this release. */
  image: string;
}

/** Slot A of the image as a file (the base of every delta: what a fresh device runs). */
export function baseSlotImage(layout: ImageLayout, to: string): string {
  return extractPartition(layout.diskPath, layout.partitions.A, to);
}

/** `sizeBytes` of seeded pseudo-random bytes: content a delta cannot express as copies of the base. */
export function noise(seed: number, sizeBytes: number): Uint8Array {
  const next = mulberry32(seed);
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** The files that make release `version` of the test slot: /etc/ota/version, and 64 KiB of new data. */
export function versionFiles(version: number): Ext4File[] {
  return [
    { path: '/etc/ota/version', content: `${version}\n` },
    { path: `/opt/ota/release-${version}.bin`, content: noise(version, 64 * 1024) },
  ];
}

/** How to make a release. */
export interface GuestReleaseOptions {
  /** Folder for the image and the release directory (created). */
  workDir: string;
  /** The fleet's key directory (ota-fleet keygen). */
  keysDir: string;
  /** The slot image the new one starts from, and the delta base (baseSlotImage). */
  base: string;
  version: number;
  /** Files changed in the new image; default versionFiles(version). */
  files?: readonly Ext4File[];
  /** The hardware id the release lists; default the arm64 boards' (QEMU_HARDWARE). */
  hardware?: string;
  /** Extra `ota-fleet release` arguments (e.g. `--device`, `--expires`). */
  extraArgs?: readonly string[];
}

/** Makes the image of release `version` from `base` and signs it with a delta from `base`. */
export async function makeGuestRelease(o: GuestReleaseOptions): Promise<GuestRelease> {
  const work = join(o.workDir, `release-${o.version}`);
  mkdirSync(work, { recursive: true });
  const image = join(work, 'slot.img');
  run('cp', ['--sparse=always', o.base, image]);
  editExt4Image(image, work, o.files ?? versionFiles(o.version));
  const dir = join(work, 'release');
  await fleetOk(work, ['release', '--image', image, '--version', String(o.version), '--hardware', o.hardware ?? QEMU_HARDWARE.arm64, '--keys', o.keysDir,
    // The raw full image, as before compressed ones existed: brotli at quality 11 of a whole slot image would
    // add minutes per release to a suite near its time budget (the guests take the delta; the sim tests cover the compressed image).
    '--out', dir, '--from', o.base, '--full-image', 'raw', ...(o.extraArgs ?? [])]);
  return { version: o.version, dir, image };
}
