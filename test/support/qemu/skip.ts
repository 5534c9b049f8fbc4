/** The gate that decides whether the QEMU suite can run here. */
import { missingTools } from '../tools.js';
import { IMAGE_TOOLS } from './image.js';
import { UBOOT_QEMU_ARM64 } from './machine.js';

/** Why the QEMU suite cannot run here (prints it), or undefined when it can. */
export function qemuSkipReason(): string | undefined {
  if (process.env['OTA_SKIP_QEMU'] === '1') {
    console.log('# skipping the QEMU suite: OTA_SKIP_QEMU=1');
    return 'OTA_SKIP_QEMU=1';
  }
  const missing = missingTools('the QEMU suite', 'qemu-system-aarch64', UBOOT_QEMU_ARM64, ...IMAGE_TOOLS);
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}
