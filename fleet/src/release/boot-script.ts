/**
 * `ota-fleet release --boot-script FILE`: a new boot.scr carried beside the slot image, as one more
 * signed artifact (its size and sha256 in the release metadata, format `uboot-script`). Devices
 * write it as boot.scr.uimg before arming and promote it to boot.scr at the commit
 * (docs/boot-partition-updates.md). Only a U-Boot script image is taken: the firmware, U-Boot and
 * config.txt are never updated by a release (a torn one stops a Pi 3 for good), and device trees
 * change with the slot (/boot/dtbs). Every refusal comes before anything is written.
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { BOOT_SCRIPT_FORMAT, BOOT_SCRIPT_MAX_BYTES, type JsonObject } from '../../../agent/src/formats/index.js';
import { parseScriptImage } from '../../../agent/src/boot/index.js';
import { OtaError, withContext } from '../../../agent/src/errors/index.js';
import { addArtifact, artifactJson } from './artifacts.js';

/** Names of boot-partition files a release never carries, and why. */
const REFUSED: readonly { readonly name: RegExp; readonly why: string }[] = [
  { name: /^(bootcode\.bin|start[0-9a-z_]*\.elf|fixup[0-9a-z_]*\.dat)$/i, why: 'it is the Raspberry Pi firmware, which nothing checks before running it: a torn copy stops the board until the card is reflashed' },
  { name: /^u-boot.*\.bin$/i, why: 'it is U-Boot, which the firmware runs unchecked with no second copy: a torn copy stops the board until the card is reflashed' },
  { name: /^(config|cmdline)\.txt$/i, why: 'it is read by the firmware, with no fallback if it is wrong' },
  { name: /\.dtbo?$/i, why: 'device trees and overlays change with the slot (/boot/dtbs in the slot image), not on the boot partition' },
];

/** The checked bytes of `--boot-script FILE`; refuses firmware, U-Boot, config.txt, device trees and anything that is not a script image. */
export async function readBootScript(file: string): Promise<Buffer> {
  const name = basename(file);
  const refused = REFUSED.find((r) => r.name.test(name));
  if (refused !== undefined) throw new OtaError('RELEASE_BOOT_FILE_REFUSED', `release: --boot-script ${file}: refused: ${refused.why}; a release carries only boot.scr (docs/boot-partition-updates.md)`);
  const stat = await fsp.stat(file).catch((err: unknown) => { throw withContext(`release: --boot-script ${file}`, err); });
  if (stat.size > BOOT_SCRIPT_MAX_BYTES) throw new OtaError('RELEASE_BOOT_FILE_REFUSED', `release: --boot-script ${file}: ${stat.size} bytes, over the ${BOOT_SCRIPT_MAX_BYTES} a device takes: it is not a boot script`);
  const bytes = await fsp.readFile(file);
  try {
    parseScriptImage(bytes, `release: --boot-script ${file}`);
  } catch (err) {
    if (err instanceof OtaError && err.code === 'BOOT_SCRIPT_IMAGE') throw new OtaError('RELEASE_BOOT_FILE_REFUSED', err.message, { cause: err });
    throw err;
  }
  return bytes;
}

/** Add the checked boot script `bytes` to the release in `out`: its artifact JSON. */
export async function addBootScript(out: string, bytes: Buffer): Promise<JsonObject> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'ota-boot-script-'));
  try {
    const file = join(dir, 'boot.scr');
    await fsp.writeFile(file, bytes);
    return artifactJson(await addArtifact(out, file, 'scr', bytes.length), BOOT_SCRIPT_FORMAT);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
