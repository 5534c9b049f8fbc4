// A data directory that cannot hold state is refused with one typed line, fast: under /proc (where
// `mkdir -p` used to spin at 100 % CPU forever), under /sys, or a regular file. `status` reads and
// creates nothing; a command that writes creates the directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/tools.js';
import { agent, agentOk, fleetOk, writeImage } from '../../support/sim-flow.js';

const { dir, cleanup } = tempDir('ota-datadir-');
test.after(cleanup);
const CONFIG = 'dev/agent.json';

test.before(async () => {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 64 * 1024);
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
});

function withDataDir(dataDir: string): string {
  const config: unknown = JSON.parse(readFileSync(join(dir, CONFIG), 'utf8'));
  if (typeof config !== 'object' || config === null) throw new Error('agent.json');
  const name = `dev/agent-${Math.random().toString(36).slice(2)}.json`;
  writeFileSync(join(dir, name), JSON.stringify({ ...config, dataDir }));
  return name;
}

test('a dataDir under /proc or /sys, or that is a regular file, is refused in one typed line by status and by a writing command', async () => {
  writeFileSync(join(dir, 'a-file'), 'x');
  const cases: [string, RegExp][] = [
    ['/proc/ota-agent-test/data', /data directory \/proc\/ota-agent-test\/data is on procfs \(\/proc\), which stores nothing: set dataDir .*\[DATA_DIR_PSEUDO_FS\]\n$/],
    ['/proc', /is on procfs .*\[DATA_DIR_PSEUDO_FS\]\n$/],
    ['/sys/ota-agent-test', /is on sysfs \(\/sys\).*\[DATA_DIR_PSEUDO_FS\]\n$/],
    [join(dir, 'a-file'), /a-file is a regular file: set dataDir .*\[DATA_DIR_NOT_DIRECTORY\]\n$/],
    [join(dir, 'a-file', 'sub'), /a-file is a regular file: .*\[DATA_DIR_NOT_DIRECTORY\]\n$/],
  ];
  for (const [dataDir, message] of cases) {
    const config = withDataDir(dataDir);
    for (const argv of [['status'], ['post-boot']]) {
      const r = await agent(dir, '--config', config, ...argv);
      assert.is(r.code, 1, `${argv[0] ?? ''} with dataDir ${dataDir}`);
      assert.match(r.stderr, message);
      assert.is(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
  }
  assert.not.ok(existsSync('/proc/ota-agent-test'));
});

test('sim create under /proc fails in one typed line instead of spinning in mkdir -p', async () => {
  const r = await agent(dir, 'sim', 'create', '/proc/ota-agent-test/dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img');
  assert.is(r.code, 1);
  assert.match(r.stderr, /create directory \/proc\/ota-agent-test: .*\[ENOENT\]\n$/);
});

test('status on a data directory that does not exist yet creates nothing; post-boot creates it', async () => {
  const config = withDataDir(join(dir, 'fresh', 'data'));
  const s = await agentOk(dir, '--config', config, 'status', '--json');
  assert.match(s.stdout, /"booted": "A"/);
  assert.not.ok(existsSync(join(dir, 'fresh')), 'status created nothing');
  await agent(dir, '--config', config, 'post-boot');
  assert.ok(existsSync(join(dir, 'fresh', 'data')), 'a writing command creates the data directory');
});

test.run();
