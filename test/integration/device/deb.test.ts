// `npm run build:deb` (scripts/build-deb.mjs): the agent as a Debian package. Built twice from the same
// inputs it is byte-identical; its control data, files, owners and modes are the shared layout; lintian finds
// no error and no warning; installed into a temporary root by dpkg --root and unpacked into one, its wrapper runs the agent on this machine's
// Node.js, and its maintainer scripts enable both units there (deb-systemd-helper under DPKG_ROOT) and
// clean them up on purge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAgentConfig } from '../../../agent/src/config/index.js';
import { repoRoot } from '../../support/node18.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';

const t = tempDir('ota-deb-');
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const debName = `ota-agent_${version}_all.deb`;
const missing = missingTools('the .deb', 'dpkg-deb');
const it = gate(missingReason(missing));

/** Run a command; fails the test on a non-zero exit, returns stdout. */
function ok(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  assert.is(r.status, 0, `${command} ${args.join(' ')}: ${String(r.stderr)}${String(r.stdout)}`);
  return String(r.stdout);
}

/** Build the .deb into `out` with a fixed SOURCE_DATE_EPOCH. */
function buildDeb(out: string): string {
  ok(process.execPath, [join(repoRoot, 'scripts', 'build-deb.mjs'), '--no-tsc', '--out', out], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' } });
  return join(out, debName);
}

test.after(() => t.cleanup());

it('two builds from the same inputs are byte-identical', () => {
  const first = readFileSync(buildDeb(join(t.dir, 'one')));
  const second = readFileSync(buildDeb(join(t.dir, 'two')));
  assert.ok(first.length > 0);
  assert.ok(first.equals(second), 'the two .debs differ');
});

it('control: name, version from package.json, all, depends on nodejs >= 18, maintainer scripts', () => {
  const deb = join(t.dir, 'one', debName);
  const field = (name: string): string => ok('dpkg-deb', ['--field', deb, name]).trim();
  assert.is(field('Package'), 'ota-agent');
  assert.is(field('Version'), version);
  assert.is(field('Architecture'), 'all');
  assert.is(field('Depends'), 'nodejs (>= 18)');
  assert.is(field('Recommends'), 'systemd', 'systemctl: the default reboot command, systemd health checks');
  const info = ok('dpkg-deb', ['--info', deb]);
  for (const script of ['postinst', 'prerm', 'postrm', 'md5sums']) assert.match(info, new RegExp(`\\b${script}\\b`));
  assert.not.match(info, /\bconffiles\b/, 'nothing is shipped under /etc');
});

it('contents: the shared layout, root-owned, with fixed modes and one mtime', () => {
  const listing = ok('dpkg-deb', ['--contents', join(t.dir, 'one', debName)]).trim().split('\n');
  const entries = new Map(listing.map((line) => {
    const [mode = '', owner = '', , day = '', time = '', path = ''] = line.split(/\s+/);
    return [path.replace(/^\./, ''), { mode, owner, stamp: `${day} ${time}` }];
  }));
  const expected: Record<string, string> = {
    '/usr/bin/ota-agent': '-rwxr-xr-x',
    '/usr/lib/ota-agent/ota-agent.mjs': '-rwxr-xr-x',
    '/lib/systemd/system/ota-agent.service': '-rw-r--r--',
    '/lib/systemd/system/ota-agent-health.service': '-rw-r--r--',
    '/usr/share/ota-agent/boot.cmd': '-rw-r--r--',
    '/usr/share/doc/ota-agent/copyright': '-rw-r--r--',
    '/usr/share/doc/ota-agent/changelog.gz': '-rw-r--r--',
    '/usr/share/doc/ota-agent/examples/agent.json': '-rw-r--r--',
    '/usr/share/man/man1/ota-agent.1.gz': '-rw-r--r--',
    // the units' ReadWritePaths=: without it they fail to start (226/NAMESPACE) before provisioning
    '/var/lib/ota-agent/': 'drwxr-xr-x',
  };
  for (const [path, mode] of Object.entries(expected)) assert.is(entries.get(path)?.mode, mode, path);
  for (const name of existsSync(join(repoRoot, 'agent/init')) ? readdirSync(join(repoRoot, 'agent/init')) : []) {
    assert.ok(entries.has(`/usr/lib/ota-agent/${name}`), `agent/init/${name} is shipped`);
  }
  for (const [path, e] of entries) {
    assert.is(e.owner, 'root/root', path);
    assert.ok(['drwxr-xr-x', '-rwxr-xr-x', '-rw-r--r--'].includes(e.mode), `${path}: ${e.mode}`);
    assert.is(e.stamp, '2026-01-01 00:00', `${path}: mtime from SOURCE_DATE_EPOCH`);
    assert.not.ok(path.startsWith('/etc/'), `${path}: nothing under /etc`);
  }
});

gate(missingReason(missingTools('lintian on the .deb', 'lintian', 'dpkg-deb')))('lintian: no error, no warning', () => {
  const r = spawnSync('lintian', ['--fail-on', 'error,warning', join(t.dir, 'one', debName)], { encoding: 'utf8' });
  const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.equal(tags, []);
  assert.is(r.status, 0, r.stderr);
});

it('unpacked into a root: the wrapper runs the agent on this Node.js; the example config is valid', () => {
  const root = join(t.dir, 'root');
  ok('dpkg-deb', ['-x', join(t.dir, 'one', debName), root]);
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  const help = ok(join(root, 'usr/bin/ota-agent'), ['--help'], { env });
  assert.match(help, /ota-agent install <source>/);
  assert.match(ok(join(root, 'usr/bin/ota-agent'), ['version'], { env }), new RegExp(`^ota-agent ${version.replaceAll('.', '\\.')} `));
  const example = join(root, 'usr/share/doc/ota-agent/examples/agent.json');
  assert.is(parseAgentConfig(readFileSync(example), example).hardware, 'rpi-4');
});

it('the wrapper runs node with the unit\'s memory settings (one malloc arena, 1 MiB semi-space) unless the caller set its own arena count', () => {
  const root = join(t.dir, 'root-env');
  ok('dpkg-deb', ['-x', join(t.dir, 'one', debName), root]);
  // A `node` first on PATH that reports how the wrapper started it.
  const bin = join(t.dir, 'fake-node');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX-unset} $*"\n', { mode: 0o755 });
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
  delete env['MALLOC_ARENA_MAX'];
  assert.match(ok(join(root, 'usr/bin/ota-agent'), ['delta', 'apply'], { env }), /^MALLOC_ARENA_MAX=1 --max-semi-space-size=1 \S+\/lib\/ota-agent\/ota-agent\.mjs delta apply\n$/);
  assert.match(ok(join(root, 'usr/bin/ota-agent'), ['version'], { env: { ...env, MALLOC_ARENA_MAX: '2' } }), /^MALLOC_ARENA_MAX=2 --max-semi-space-size=1 \S+ version\n$/);
});

gate(missingReason(missingTools('the maintainer scripts', 'deb-systemd-helper', 'dpkg-deb')))('postinst enables both units in the root; purge removes them', () => {
  const root = join(t.dir, 'root');
  const control = join(t.dir, 'control');
  ok('dpkg-deb', ['-e', join(t.dir, 'one', debName), control]);
  // As dpkg --root runs them chrootless: DPKG_ROOT names the root, the helper checks it is called from dpkg.
  const env = { ...process.env, DPKG_ROOT: root, DPKG_MAINTSCRIPT_PACKAGE: 'ota-agent' };
  const wants = join(root, 'etc/systemd/system/multi-user.target.wants');
  ok(join(control, 'postinst'), ['configure'], { env: { ...env, DPKG_MAINTSCRIPT_NAME: 'postinst' } });
  for (const unit of ['ota-agent.service', 'ota-agent-health.service']) {
    assert.is(readlinkSync(join(wants, unit)), `/lib/systemd/system/${unit}`);
  }
  ok(join(control, 'prerm'), ['remove'], { env: { ...env, DPKG_MAINTSCRIPT_NAME: 'prerm' } });
  ok(join(control, 'postrm'), ['remove'], { env: { ...env, DPKG_MAINTSCRIPT_NAME: 'postrm' } });
  ok(join(control, 'postrm'), ['purge'], { env: { ...env, DPKG_MAINTSCRIPT_NAME: 'postrm' } });
  assert.not.ok(existsSync(wants) && readdirSync(wants).length > 0, 'purge leaves no enable symlink');
  assert.not.ok(existsSync(join(root, 'etc/systemd/system/ota-agent.service')) && lstatSync(join(root, 'etc/systemd/system/ota-agent.service')).isSymbolicLink(), 'purge unmasks');
});

gate(missingReason(missingTools('dpkg --root', 'dpkg', 'deb-systemd-helper')))(
  'dpkg --root installs it chrootless (as an image build does): units enabled; purge leaves nothing', () => {
    const root = join(t.dir, 'dpkg-root');
    const sbinPath = { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` }; // dpkg looks for ldconfig and start-stop-daemon
    mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    // --force-not-root: CI runs the tests as a user (the files are then that user's, which nothing here checks).
    const dpkg = ['--root', root, '--force-not-root', '--force-script-chrootless', '--log=/dev/null'];
    // nodejs is the target's, not this temporary root's.
    ok('dpkg', [...dpkg, '--force-depends', '-i', join(t.dir, 'one', debName)], { env: sbinPath });
    for (const unit of ['ota-agent.service', 'ota-agent-health.service']) {
      assert.is(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants', unit)), `/lib/systemd/system/${unit}`);
    }
    assert.ok(existsSync(join(root, 'usr/lib/ota-agent/ota-agent.mjs')));
    ok('dpkg', [...dpkg, '--purge', 'ota-agent'], { env: sbinPath });
    for (const dir of ['usr', 'lib', 'etc']) assert.not.ok(existsSync(join(root, dir)) && readdirSync(join(root, dir), { recursive: true }).some((p) => !lstatSync(join(root, dir, String(p))).isDirectory()), `${dir}/ empty after purge`);
  });

test.run();
