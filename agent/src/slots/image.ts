/**
 * What a slot must hold before it may be armed: an image of a plausible size
 * whose bytes read back as the signed digest. An empty image hashes as the
 * empty string's sha256 whatever the slot holds, so a check against it proves
 * nothing: the device would boot whatever was there before, reported as new.
 */
import { OtaError } from '../errors/index.js';
import type { ImageDigest } from '../formats/index.js';
import { hashSlot } from './table.js';

/**
 * The smallest image a release may carry and a device will arm: one 4 KiB block, the smallest
 * filesystem block; no bootable root filesystem is smaller. Not required: a multiple of 512 (a partial
 * last sector is written through the page cache like any other).
 */
export const MIN_IMAGE_BYTES = 4096;

/** Refuse an image size no slot should be armed with (zero, or below MIN_IMAGE_BYTES); `what` names it and `fix` says what to do. */
export function checkImageSize(sizeBytes: number, what: string, fix: string): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < MIN_IMAGE_BYTES) {
    throw new OtaError('IMAGE_IMPLAUSIBLE', `${what} has ${sizeBytes} bytes, less than the ${MIN_IMAGE_BYTES} of the smallest image a slot is armed with: ${fix}`);
  }
}

/** What a device tells the user when a release's image is implausible. */
export const IMPLAUSIBLE_FIX = 'the release is refused; sign a release of the real image';

/** Read `device` back and require the first `expected.sizeBytes` bytes to hash as `expected.sha256`; refuses a trivial expectation first. */
export async function verifySlotImage(device: string, expected: ImageDigest, what: string, signal?: AbortSignal): Promise<void> {
  checkImageSize(expected.sizeBytes, what, IMPLAUSIBLE_FIX);
  const sha256 = await hashSlot(device, expected.sizeBytes, signal);
  if (sha256 !== expected.sha256) {
    throw new OtaError('SLOT_VERIFY', `reads back as sha256 ${sha256}, not ${expected.sha256} as ${what} says: the write did not stick; the update is abandoned`);
  }
}
