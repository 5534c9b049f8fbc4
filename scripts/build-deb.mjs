#!/usr/bin/env node
// `npm run build:deb [-- --out DIR] [--no-tsc]`: the agent as a Debian package, DIR/ota-agent_VERSION_all.deb
// (default dist/). The tree is the one the image builder and the emulated-ARM suite install:
//   /usr/lib/ota-agent/ota-agent.mjs       the device bundle (scripts/build-device.mjs), plus agent/init/*
//   /usr/bin/ota-agent                     a shell wrapper: node runs the bundle
//   /lib/systemd/system/*.service          agent/systemd/, enabled by postinst (deb-systemd-helper)
//   /usr/share/ota-agent/boot.cmd          the U-Boot boot script
//   /usr/share/doc/ota-agent/              copyright, changelog.gz, examples/ (agent.json, fw_env.config)
// Reproducible: every mtime is SOURCE_DATE_EPOCH (default: the last commit's time), owners root:root, modes
// fixed, gzip without a name or time; dpkg-deb then writes the same bytes for the same inputs.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { maintainerScripts } from './deb/maintainer-scripts.mjs';
import { manPage } from './deb/manpage.mjs';
import { DESCRIPTION, bundledPackages, changelog, control, copyright, maintainer } from './deb/texts.mjs';
import { WRAPPER } from './deb/wrapper.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const flag = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const outDir = resolve(flag('--out') ?? join(root, 'dist'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const epochS = sourceDateEpoch();
const env = { ...process.env, SOURCE_DATE_EPOCH: String(epochS) };

/** SOURCE_DATE_EPOCH when set, else the time of the commit checked out, else package.json's mtime. */
function sourceDateEpoch() {
  const given = process.env.SOURCE_DATE_EPOCH;
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given)) fail(`SOURCE_DATE_EPOCH=${given} is not a number of seconds; unset it or give seconds since 1970`);
    return Number(given);
  }
  const git = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && /^\d+\s*$/.test(git.stdout)) return Number(git.stdout.trim());
  return Math.floor(statSync(join(root, 'package.json')).mtimeMs / 1000);
}

function fail(message) {
  console.error(`build:deb: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', env, ...options });
  if (r.error !== undefined) fail(`${command}: ${r.error.message} (install it: apt-get install dpkg-dev)`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')}: exit ${r.status}\n${r.stderr ?? ''}`);
  return r.stdout;
}

/** Write `data` at `path` under the tree with `mode`, making its directories. */
function put(tree, path, data, mode = 0o644) {
  mkdirSync(dirname(join(tree, path)), { recursive: true });
  writeFileSync(join(tree, path), data);
  chmodSync(join(tree, path), mode);
}

/** Every directory 0755, files 0755 when executable else 0644, every mtime `epochS`; returns the size in KiB as dpkg counts it. */
function normalize(dir) {
  let kib = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) kib += 1 + normalize(path);
    else {
      chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
      kib += Math.ceil(st.size / 1024);
    }
    utimesSync(path, epochS, epochS);
  }
  utimesSync(dir, epochS, epochS);
  return kib;
}

/** DEBIAN/md5sums: `MD5  path` for every file of the tree but DEBIAN/, sorted by path. */
function md5sums(tree, dir = '') {
  return readdirSync(join(tree, dir)).sort().filter((n) => dir !== '' || n !== 'DEBIAN').map((name) => {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (lstatSync(join(tree, path)).isDirectory()) return md5sums(tree, path);
    return `${createHash('md5').update(readFileSync(join(tree, path))).digest('hex')}  ${path}\n`;
  }).join('');
}

const work = mkdtempSync(join(tmpdir(), 'ota-build-deb-'));
try {
  const device = join(work, 'device');
  const skipTsc = process.argv.includes('--no-tsc') ? ['--no-tsc'] : [];
  run(process.execPath, [join(root, 'scripts', 'build-device.mjs'), '--out', device, ...skipTsc], { stdio: ['ignore', 'ignore', 'pipe'] });
  const tree = join(work, 'tree');
  put(tree, 'usr/lib/ota-agent/ota-agent.mjs', readFileSync(join(device, 'ota-agent.mjs')), 0o755);
  if (existsSync(join(root, 'agent/init'))) cpSync(join(root, 'agent/init'), join(tree, 'usr/lib/ota-agent'), { recursive: true });
  // How a person on the device runs it: the unit's memory settings, by exec (scripts/deb/wrapper.mjs).
  put(tree, 'usr/bin/ota-agent', WRAPPER, 0o755);
  for (const unit of readdirSync(join(root, 'agent/systemd')).filter((f) => f.endsWith('.service')).sort()) {
    put(tree, `lib/systemd/system/${unit}`, readFileSync(join(root, 'agent/systemd', unit)));
  }
  // The agent's data directory, so the units' ReadWritePaths= holds before provisioning (else they fail
  // setting up their namespace, 226/NAMESPACE, instead of saying the device is not provisioned). 0755 as
  // Policy 10.9 wants: provision writes the device's key 0600. On an image with the pre-init,
  // /data/ota-agent is bound over it.
  mkdirSync(join(tree, 'var/lib/ota-agent'), { recursive: true });
  put(tree, 'usr/share/ota-agent/boot.cmd', readFileSync(join(root, 'bootloader/boot.cmd')));
  const doc = 'usr/share/doc/ota-agent';
  const who = maintainer(process.env);
  put(tree, `${doc}/copyright`, copyright(bundledPackages(JSON.parse(readFileSync(join(device, 'meta.json'), 'utf8')), join(root, 'node_modules'))));
  put(tree, `${doc}/changelog.gz`, gzipSync(changelog({ version, maintainer: who, epochS }), { level: 9 }));
  put(tree, `${doc}/examples/agent.json`, readFileSync(join(root, 'agent/examples/agent.json')));
  put(tree, `${doc}/examples/fw_env.config`, readFileSync(join(root, 'bootloader/fw_env.config')));
  const help = run(process.execPath, [join(device, 'ota-agent.mjs'), '--help']);
  put(tree, 'usr/share/man/man1/ota-agent.1.gz', gzipSync(manPage({ version, epochS, help }), { level: 9 }));
  const installedSizeKiB = normalize(tree);
  put(tree, 'DEBIAN/md5sums', md5sums(tree));
  put(tree, 'DEBIAN/control', control({ version, maintainer: who, installedSizeKiB, description: DESCRIPTION }));
  for (const [name, text] of Object.entries(maintainerScripts)) put(tree, `DEBIAN/${name}`, text, 0o755);
  normalize(tree);
  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `ota-agent_${version}_all.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', tree, deb]);
  console.log(`${deb}: ${statSync(deb).size} bytes`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
