/**
 * What the env holds, and what may be set in it.
 *
 * The env is bytes: U-Boot and fw_setenv store any byte but NUL in a value (UTF-8, Latin-1, binary).
 * This folder carries names and values as byte strings: one UTF-16 code unit per byte, 0x00-0xFF
 * (Node's `latin1` encoding, which maps bytes to code units one to one; WHATWG's `latin1` label is
 * windows-1252 and does not). A variable read is written back byte for byte, whatever it holds.
 * Text (argv, a config) becomes a byte string through `bytesOfText` (UTF-8).
 *
 * What may be *set* is narrower than what may be *kept*: the text forms of the env (fw_printenv's
 * output, `fw_setenv -s` scripts, mkenvimage input, U-Boot's `env import -t`) are `name=value` lines,
 * so a newline or CR in a name or value forges a variable for every reader of those forms, and `=` in
 * a name moves the split (U-Boot's setenv and libubootenv's libuboot_set_env refuse `=` in a name).
 * Names are therefore printable ASCII without space and `=` (what hush can expand as `${name}`);
 * values are any byte but the C0 controls and DEL (NUL ends the entry, newline and CR forge lines,
 * the others are invisible on a console and in logs).
 */
import { OtaError } from '../errors/index.js';

/** The bytes of `text` encoded as UTF-8, as a byte string. */
export function bytesOfText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string decoded as UTF-8 (an invalid sequence becomes U+FFFD): for display only, never to write back. */
export function textOfBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** A byte string of `bytes`. */
export function byteString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** True when every code unit of `s` is a byte (0x00-0xFF). */
export function isByteString(s: string): boolean {
  return /^[\x00-\xff]*$/.test(s);
}

/** Shows a byte string in a message: printable ASCII as is, anything else as \xNN. */
export function showBytes(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]|["\\]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}"`;
}

/** Throws ENV_BAD_NAME unless `name` (a byte string) may be set: 1 or more bytes 0x21-0x7E, no '='. */
export function checkName(name: string): void {
  if (!/^[\x21-\x3c\x3e-\x7e]+$/.test(name)) {
    throw new OtaError('ENV_BAD_NAME', `invalid env variable name ${showBytes(name)}: a name is printable ASCII with no space, '=', newline or control character; rename it`);
  }
}

/** Throws ENV_BAD_VALUE unless `value` (a byte string) may be set: no C0 control (NUL, newline, CR, tab...) and no DEL. */
export function checkValue(name: string, value: string): void {
  if (!isByteString(value)) {
    throw new OtaError('ENV_BAD_VALUE', `invalid value for env variable ${showBytes(name)}: it holds characters above U+00FF; pass the env bytes (bytesOfText encodes text as UTF-8)`);
  }
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new OtaError('ENV_BAD_VALUE', `invalid value for env variable ${showBytes(name)}: ${showBytes(value)} holds a NUL, newline or other control byte, which would end the entry or forge a line in fw_printenv's output; remove it`);
  }
}
