// A release that carries a new boot.scr (`--boot-script`, docs/boot-partition-updates.md): signed as the
// artifact `bootScript` (size and sha256 under the release's signature), refused for anything that is not
// a U-Boot script image (firmware, U-Boot, config.txt, device trees) before anything is written; on a
// simulated device the agent stages it as boot.scr.uimg before the trial and makes it boot.scr at the commit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { parseScriptImage } from '../../../agent/src/boot/index.js';
import { agentOk, patchImage, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir } from '../../support/tools.js';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { BOOT_SCRIPT_RELEASE_SPEC, fields, isRefusal } from '../../../agent/src/formats/index.js';

const NOW = new Date('2027-03-01T12:00:00Z');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const get = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined);

/** dev/agent.json with `bootPartition` set to `dir`. */
function withBootPartition(configPath: string, dir: string): void {
  const config: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
  writeFileSync(configPath, JSON.stringify({ ...(typeof config === 'object' && config !== null ? config : {}), bootPartition: dir }));
}

function release(dir: string, ...extra: string[]): ReturnType<typeof runMain> {
  return runMain(fleetMain, ['release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', ...extra], { cwd: dir, now: NOW });
}

async function setup(dir: string): Promise<Buffer> {
  assert.is((await runMain(fleetMain, ['keygen', '--out', 'keys'], { cwd: dir, now: NOW })).code, 0);
  writeImage(dir, 'v1.img', 1024 * 1024);
  patchImage(dir, 'v1.img', 'v2.img', 5000, 'two');
  writeFileSync(join(dir, 'boot.cmd'), 'echo "ota: boot script of release 2"\n');
  const made = spawnSync('mkimage', ['-A', 'arm64', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'ota-agent A/B boot', '-d', join(dir, 'boot.cmd'), join(dir, 'boot.scr')], { encoding: 'utf8' });
  assert.is(made.status, 0, `mkimage: ${made.stderr}`);
  return readFileSync(join(dir, 'boot.scr'));
}

test('--boot-script: mkimage\'s boot.scr is signed with the release (size and sha256 in release.json), verified, and a changed hash breaks the signature', async () => {
  const t = tempDir();
  try {
    const scr = await setup(t.dir);
    assert.is(parseScriptImage(scr, 'boot.scr').text, 'echo "ota: boot script of release 2"\n', 'our reader takes mkimage\'s image');
    const r = await release(t.dir, '--out', 'rel2', '--boot-script', 'boot.scr');
    assert.is(r.code, 0, r.stderr);
    const doc: unknown = JSON.parse(readFileSync(join(t.dir, 'rel2/release.json'), 'utf8'));
    const boot = get(get(doc, 'signed'), 'bootScript');
    assert.equal([get(boot, 'format'), get(boot, 'sizeBytes'), get(boot, 'sha256')], ['uboot-script', scr.length, sha256(scr)]);
    assert.ok(readFileSync(join(t.dir, 'rel2', String(get(boot, 'path')))).equals(scr), 'the artifact is the file');
    // an agent that reads release format 1.x (it predates bootScript) refuses it instead of skipping the script
    assert.is(get(get(doc, 'signed'), 'specVersion'), BOOT_SCRIPT_RELEASE_SPEC);
    const signedPart = get(doc, 'signed');
    if (typeof signedPart !== 'object' || signedPart === null || Array.isArray(signedPart)) throw new Error('release.json has no signed object');
    assert.throws(() => fields.specVersion(Object.fromEntries(Object.entries(signedPart)), 'release.signed', 1), (e: unknown) => isRefusal(e, 'newer-spec'));
    const plain = await release(t.dir, '--out', 'rel2-plain');
    assert.is(plain.code, 0, plain.stderr);
    assert.is(get(get(JSON.parse(readFileSync(join(t.dir, 'rel2-plain/release.json'), 'utf8')), 'signed'), 'specVersion'), undefined, 'a release without a boot script keeps format 1 (no specVersion)');
    await agentOk(t.dir, 'verify', 'rel2/notice.json', '--root', 'keys/root.json', '--hardware', 'hw', '--now', '2027-03-02T00:00:00Z');
    const notice = readFileSync(join(t.dir, 'rel2/notice.json'), 'utf8');
    writeFileSync(join(t.dir, 'tampered.json'), notice.replace(sha256(scr), sha256(Buffer.from('another script'))));
    const tampered = await runMain(agentMain, ['verify', 'tampered.json', '--root', 'keys/root.json', '--hardware', 'hw', '--now', '2027-03-02T00:00:00Z'], { cwd: t.dir, now: NOW });
    assert.is(tampered.code, 1, 'a boot script hash changed after signing is refused');
    assert.match(tampered.stdout + tampered.stderr, /signature|threshold/i);
  } finally { t.cleanup(); }
});

test('--boot-script refuses firmware, U-Boot, config.txt, device trees and a file that is not a script image, before anything is written', async () => {
  const t = tempDir();
  try {
    const scr = await setup(t.dir);
    const cases: [string, Buffer, RegExp][] = [
      ['start.elf', scr, /Raspberry Pi firmware/], ['bootcode.bin', scr, /Raspberry Pi firmware/], ['fixup4.dat', scr, /Raspberry Pi firmware/],
      ['u-boot.bin', scr, /it is U-Boot/], ['config.txt', scr, /read by the firmware/], ['bcm2837-rpi-3-b.dtb', scr, /change with the slot/],
      ['boot-text.scr', Buffer.from('setenv bootargs x\n'), /script image|legacy image|too short/], ['torn.scr', scr.subarray(0, scr.length - 3), /truncated|CRC/],
    ];
    for (const [name, bytes, why] of cases) {
      writeFileSync(join(t.dir, name), bytes);
      const r = await release(t.dir, '--out', `out-${name}`, '--boot-script', name);
      assert.is(r.code === 0, false, `${name} refused`);
      assert.match(r.stderr, /RELEASE_BOOT_FILE_REFUSED/, name);
      assert.match(r.stderr, why, name);
      assert.not.ok(existsSync(join(t.dir, `out-${name}`)), `${name}: nothing written`);
    }
  } finally { t.cleanup(); }
});

test('a simulated device stages the boot script as boot.scr.uimg on arming and makes it boot.scr at the commit; without bootPartition the install is refused before the slot is written', async () => {
  const t = tempDir();
  try {
    const scr = await setup(t.dir);
    assert.is((await release(t.dir, '--out', 'rel2', '--boot-script', 'boot.scr')).code, 0);
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const refused = await runMain(agentMain, ['--config', 'dev/agent.json', 'install', 'rel2'], { cwd: t.dir, now: NOW });
    assert.is(refused.code === 0, false);
    assert.match(refused.stdout + refused.stderr, /has no "bootPartition"/, `${refused.stdout}${refused.stderr}`);
    const firmware = join(t.dir, 'dev/firmware');
    mkdirSync(firmware);
    writeFileSync(join(firmware, 'boot.scr'), 'the committed script');
    withBootPartition(join(t.dir, 'dev/agent.json'), firmware);
    await agentOk(t.dir, '--config', 'dev/agent.json', 'install', 'rel2');
    assert.equal(readdirSync(firmware).sort(), ['boot.scr', 'boot.scr.uimg'], 'staged beside boot.scr');
    assert.ok(readFileSync(join(firmware, 'boot.scr.uimg')).equals(scr));
    assert.is(readFileSync(join(firmware, 'boot.scr'), 'utf8'), 'the committed script', 'boot.scr untouched until the commit');
    await agentOk(t.dir, '--config', 'dev/agent.json', 'sim', 'boot');
    assert.equal(readdirSync(firmware), ['boot.scr'], 'after the commit: boot.scr alone');
    assert.ok(readFileSync(join(firmware, 'boot.scr')).equals(scr), 'and it is the release\'s script');
  } finally { t.cleanup(); }
});

test('a trial that fails its health check is reverted: boot.scr.uimg goes, boot.scr (the committed script) stays', async () => {
  const t = tempDir();
  try {
    const scr = await setup(t.dir);
    assert.is((await release(t.dir, '--out', 'rel2', '--boot-script', 'boot.scr')).code, 0);
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const firmware = join(t.dir, 'dev/firmware');
    mkdirSync(firmware);
    writeFileSync(join(firmware, 'boot.scr'), 'the committed script');
    withBootPartition(join(t.dir, 'dev/agent.json'), firmware);
    await agentOk(t.dir, '--config', 'dev/agent.json', 'install', 'rel2');
    assert.ok(readFileSync(join(firmware, 'boot.scr.uimg')).equals(scr), 'staged');
    await runMain(agentMain, ['--config', 'dev/agent.json', 'sim', 'boot', '--fail-health'], { cwd: t.dir, now: NOW });
    const status = await agentOk(t.dir, '--config', 'dev/agent.json', 'status');
    assert.match(status.stdout, /from slot A/, 'back on slot A');
    assert.equal(readdirSync(firmware), ['boot.scr'], 'the staged script is gone');
    assert.is(readFileSync(join(firmware, 'boot.scr'), 'utf8'), 'the committed script', 'boot.scr never touched');
  } finally { t.cleanup(); }
});

test.run();
