/**
 * Release metadata (TUF's targets role): what one release contains, signed by
 * the release keys. `signed` = {"_type":"release","version":N,"expires":T,
 * "hardware":[HW...],"installed":{"sizeBytes","sha256"},"image":ARTIFACT,
 * "deltas":[ARTIFACT + "base":{"sizeBytes","sha256"}], "etc":ARTIFACT?, "bootScript":ARTIFACT?, "name":"2.1.0"?};
 * `bootScript` is a new boot.scr (format `uboot-script`, a U-Boot script image of at most 1 MiB) the device
 * writes on its boot partition before arming (agent/src/boot/boot-scripts.ts); `etc`, when the
 * image is ext4, is the manifest of its /etc (format `ota-etc-manifest`, see agent/src/etc); `name` is the
 * human version, shown (`version` alone decides anti-rollback); `channels`, the release channels the vendor
 * publishes it on (absent: `stable`), so a rollout cannot carry it onto another channel (channel.ts).
 *
 * An artifact is a file to download: its path (relative to the release's
 * base URL), format, size, sha256, and segments {offset, sizeBytes, sha256}
 * that tile it exactly (contiguous from 0 to sizeBytes), so the device checks
 * each segment as it streams, whether the file is a full image or a delta.
 */
import { isDeltaArtifactFormat } from '../delta/index.js';
import { anyObject, array, ident, identList, known, member, malformed, sha256Hex, specVersion, string, uint, utcTime } from './fields.js';
import type { JsonValue } from './json.js';
import { readChannelList } from './channel.js';
import { expectType, type Envelope } from './envelope.js';

/** One hashed piece of an artifact. */
export interface ArtifactSegment {
  /** Offset of the segment in the artifact file. */
  readonly offset: number;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** What a slot holds: its size and sha256 (a delta names its base this way). */
export interface ImageDigest {
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** A file the device downloads. */
export interface Artifact {
  readonly path: string;
  /** How to apply it: `raw` (the image itself) or a delta/container format name. */
  readonly format: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly segments: readonly ArtifactSegment[];
}

/** A delta: an artifact that turns `base` into the release's installed image. */
export interface DeltaArtifact extends Artifact {
  readonly base: ImageDigest;
}

/** Checked release metadata. */
export interface ReleaseMetadata {
  /** The anti-rollback counter: only a higher one installs. */
  readonly version: number;
  /** The human version (`2.1.0`), when the release was given one; shown, never compared. */
  readonly name?: string;
  readonly expiresMs: number;
  readonly hardware: readonly string[];
  /** The slot's content once installed. */
  readonly installed: ImageDigest;
  /** The full image (always present: the fallback when no delta fits). */
  readonly image: Artifact;
  readonly deltas: readonly DeltaArtifact[];
  /** The manifest of the image's /etc (format {@link ETC_MANIFEST_ARTIFACT}), when the fleet could read it. */
  readonly etc?: Artifact;
  /** The channels the vendor publishes this release on (`["stable"]` when the document lists none). */
  readonly channels: readonly string[];
  /** A new boot.scr (format {@link BOOT_SCRIPT_FORMAT}), when the release changes it. */
  readonly bootScript?: Artifact;
}

/** The format name of a release's boot script artifact: a U-Boot legacy script image (mkimage -T script). */
export const BOOT_SCRIPT_FORMAT = 'uboot-script';
/** Largest boot script a release carries (ours is a few KiB; U-Boot loads it whole into RAM). */
export const BOOT_SCRIPT_MAX_BYTES = 1024 * 1024;

/** The format name of the release's /etc manifest artifact. */
export const ETC_MANIFEST_ARTIFACT = 'etc-manifest';

/** Longest release name. */
export const RELEASE_NAME_MAX = 64;
/** A release name: printable ASCII, no space at either end (it is printed in logs and status lines). */
export const RELEASE_NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** `release 3 (2.1.0)`, or `release 3` for a release without a name: how every output names a release. */
export function releaseLabel(release: { readonly version: number; readonly name?: string | undefined }): string {
  return release.name === undefined ? `release ${release.version}` : `release ${release.version} (${release.name})`;
}

/** The format name of an artifact that is the slot image byte for byte. */
export const RAW_FORMAT = 'raw';

/** The newest `specVersion` major of a release this agent reads (2: the first with `bootScript`). */
export const RELEASE_SPEC_MAJOR = 2;
/**
 * The `specVersion` of a release that carries a boot script: an agent that predates `bootScript` would
 * install the slot and skip the script it does not know, so it must refuse the release (`newer-spec`).
 */
export const BOOT_SCRIPT_RELEASE_SPEC = '2.0';

/** Check a release's `signed` part. */
export function readRelease(env: Envelope, path: string): ReleaseMetadata {
  const p = `${path}.signed`;
  specVersion(env.signed, p, RELEASE_SPEC_MAJOR);
  // `etc` and `name` are optional: a release without them reads as before on older agents.
  const s = known(env.signed, p, ['_type', 'version', 'expires', 'hardware', 'installed', 'image', 'deltas']);
  expectType(s, 'release', p);
  const hardware = identList(member(s, 'hardware'), `${p}.hardware`);
  if (hardware.length === 0) malformed(`${p}.hardware`, 'must name at least one hardware id');
  const installed = imageDigest(member(s, 'installed'), `${p}.installed`);
  const image = artifact(member(s, 'image'), `${p}.image`, []);
  if (image.format === RAW_FORMAT && (image.sizeBytes !== installed.sizeBytes || image.sha256 !== installed.sha256)) {
    malformed(`${p}.image`, 'a raw image must have the size and sha256 of "installed"');
  }
  const deltas = array(member(s, 'deltas'), `${p}.deltas`, 256).map((d, k) => deltaArtifact(d, `${p}.deltas[${k}]`));
  const etcJson = member(s, 'etc');
  const etc = etcJson === undefined ? undefined : artifact(etcJson, `${p}.etc`, []);
  if (etc !== undefined && etc.format !== ETC_MANIFEST_ARTIFACT) malformed(`${p}.etc.format`, `must be ${ETC_MANIFEST_ARTIFACT}`);
  const bootJson = member(s, 'bootScript');
  const bootScript = bootJson === undefined ? undefined : artifact(bootJson, `${p}.bootScript`, []);
  if (bootScript !== undefined && bootScript.format !== BOOT_SCRIPT_FORMAT) malformed(`${p}.bootScript.format`, `must be ${BOOT_SCRIPT_FORMAT}`);
  if (bootScript !== undefined && bootScript.sizeBytes > BOOT_SCRIPT_MAX_BYTES) malformed(`${p}.bootScript.sizeBytes`, `must be at most ${BOOT_SCRIPT_MAX_BYTES}`);
  const name = member(s, 'name');
  return {
    version: uint(member(s, 'version'), `${p}.version`),
    ...(name === undefined ? {} : { name: string(name, `${p}.name`, RELEASE_NAME, `1..${RELEASE_NAME_MAX} printable ASCII characters`) }),
    expiresMs: utcTime(member(s, 'expires'), `${p}.expires`),
    hardware, installed, image, deltas,
    ...(etc === undefined ? {} : { etc }),
    channels: readChannelList(member(s, 'channels'), `${p}.channels`),
    ...(bootScript === undefined ? {} : { bootScript }),
  };
}

/** Every artifact of a release, in the order a bundle holds them: the full image, the deltas, the /etc manifest, the boot script. */
export function releaseArtifacts(release: ReleaseMetadata): Artifact[] {
  return [release.image, ...release.deltas, ...(release.etc === undefined ? [] : [release.etc]), ...(release.bootScript === undefined ? [] : [release.bootScript])];
}

/** The delta whose base is exactly `current` (size and sha256), if the release has one this code can apply. */
export function deltaFor(release: ReleaseMetadata, current: ImageDigest): DeltaArtifact | undefined {
  return release.deltas.find((d) => d.base.sha256 === current.sha256 && d.base.sizeBytes === current.sizeBytes && isDeltaArtifactFormat(d.format));
}

const ARTIFACT_KEYS = ['path', 'format', 'sizeBytes', 'sha256', 'segments'];
const PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-][A-Za-z0-9._/-]{0,254}$/;

function imageDigest(v: JsonValue | undefined, path: string): ImageDigest {
  const o = known(v, path, ['sizeBytes', 'sha256']);
  return { sizeBytes: uint(member(o, 'sizeBytes'), `${path}.sizeBytes`), sha256: sha256Hex(member(o, 'sha256'), `${path}.sha256`) };
}

function deltaArtifact(v: JsonValue, path: string): DeltaArtifact {
  const a = artifact(v, path, ['base']);
  return { ...a, base: imageDigest(member(anyObject(v, path), 'base'), `${path}.base`) };
}

function artifact(v: JsonValue | undefined, path: string, extra: readonly string[]): Artifact {
  const o = known(v, path, [...ARTIFACT_KEYS, ...extra]);
  const sizeBytes = uint(member(o, 'sizeBytes'), `${path}.sizeBytes`);
  return {
    path: string(member(o, 'path'), `${path}.path`, PATH, 'a relative path without "." or ".." parts'),
    format: ident(member(o, 'format'), `${path}.format`),
    sizeBytes,
    sha256: sha256Hex(member(o, 'sha256'), `${path}.sha256`),
    segments: segments(member(o, 'segments'), `${path}.segments`, sizeBytes),
  };
}

/** Segments must tile [0, sizeBytes) exactly; all arithmetic stays in safe integers. */
function segments(v: JsonValue | undefined, path: string, sizeBytes: number): ArtifactSegment[] {
  let next = 0;
  const list = array(v, path, 1 << 20).map((x, k) => {
    const q = `${path}[${k}]`;
    const o = known(x, q, ['offset', 'sizeBytes', 'sha256']);
    const seg = { offset: uint(member(o, 'offset'), `${q}.offset`), sizeBytes: uint(member(o, 'sizeBytes'), `${q}.sizeBytes`), sha256: sha256Hex(member(o, 'sha256'), `${q}.sha256`) };
    if (seg.offset !== next) malformed(`${q}.offset`, `must be ${next} (segments are contiguous from 0)`);
    if (seg.sizeBytes === 0 || seg.sizeBytes > sizeBytes - next) malformed(`${q}.sizeBytes`, `must be 1..${sizeBytes - next}`);
    next += seg.sizeBytes;
    return seg;
  });
  if (next !== sizeBytes) malformed(path, `cover ${next} of ${sizeBytes} bytes`);
  return list;
}
