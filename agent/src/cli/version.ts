/**
 * The version both programs print (`--version`, `version`): package.json's. The device
 * bundle stamps it (esbuild `--define:OTA_VERSION`, scripts/build-device.mjs); unbundled,
 * it is read from the package.json of this build's source tree.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Register } from './framework.js';

declare const OTA_VERSION: string | undefined;

const VERSION_SHAPE = /^[0-9A-Za-z.+-]{1,64}$/;

/** package.json's `version` at `url`, or undefined when it cannot be read. */
function packageVersion(url: URL): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(fileURLToPath(url), 'utf8'));
    const v: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'version') : undefined;
    return typeof v === 'string' && VERSION_SHAPE.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

let cached: string | undefined;

/** The version of ota-agent and ota-fleet (one package), e.g. `0.1.0`. */
export function programVersion(): string {
  if (typeof OTA_VERSION === 'string' && VERSION_SHAPE.test(OTA_VERSION)) return OTA_VERSION;
  // build/agent/src/cli/version.js -> package.json at the root of the tree.
  cached ??= packageVersion(new URL('../../../../package.json', import.meta.url)) ?? 'unknown';
  return cached;
}

/** The one line `--version` and `version` print. */
export function versionLine(name: string): string {
  return `${name} ${programVersion()} (node ${process.versions.node})\n`;
}

/** Registers `version` for the program called `name`. */
export function versionCommand(name: string): Register {
  return (y, ctx) => y.command('version', 'print the version', {}, () => {
    ctx.stdout.write(versionLine(name));
  });
}
