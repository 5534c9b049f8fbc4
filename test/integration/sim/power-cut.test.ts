// Power cuts on the real wiring: `ota-agent install` and `ota-agent sim boot` (the real bin, a
// child process) are SIGKILLed shortly after each step they log, after a random delay from a
// seed. Then a fresh agent runs on the same files (install again, then power-ons with the
// post-boot step) until it rests, and after every step the invariants hold: the env has a valid
// copy, the slot U-Boot will boot next holds a complete image (v1 or v2, byte for byte), the
// installed-version floor never goes down, and the device converges (bounded boots).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../support/prng.js';
import { agent, agentOk, fleetOk, fwPrintenv, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { missingTools, tempDir } from '../../support/tools.js';

const skip = missingTools('power cuts on the simulated device', 'fw_printenv').length > 0;
const it = skip ? test.skip : test;
const bin = fileURLToPath(new URL('../../../../bin/ota-agent.js', import.meta.url));
const CONFIG = 'dev/agent.json';
const SEEDS = Number(process.env['OTA_POWER_CUT_SEEDS'] ?? 5);

/** Where a cut lands: the command, and the log text after which the process is killed. */
interface KillPoint { readonly command: readonly string[]; readonly after: string }

const INSTALL = ['--config', CONFIG, 'install', 'rel2'];
const BOOT = ['--config', CONFIG, 'sim', 'boot'];
const BOOT_FAIL = ['--config', CONFIG, 'sim', 'boot', '--fail-health'];
const POINTS: readonly KillPoint[] = [
  { command: INSTALL, after: 'idle -notice-> verifying' },
  { command: INSTALL, after: 'verifying -ok-> installing' },
  { command: INSTALL, after: 'installing release 2' },
  { command: INSTALL, after: 'installing -ok-> verifyingSlot' },
  { command: INSTALL, after: 'verifyingSlot -ok-> arming' },
  { command: INSTALL, after: 'armed a trial boot' },
  { command: BOOT, after: 'U-Boot booted slot' },
  { command: BOOT, after: 'health check fleet' },
  { command: BOOT, after: 'checking -ok-> committing' },
  { command: BOOT, after: 'committed slot' },
  { command: BOOT_FAIL, after: 'checking -fail-> reverting' },
  { command: BOOT_FAIL, after: 'reverting -reboot-> rebootingBack' },
  { command: BOOT_FAIL, after: 'simulated reboot' },
];

/** Run the bin; SIGKILL it `delayMs` after its output first contains `after`. Resolves when it is gone. */
function runAndCut(cwd: string, argv: readonly string[], after: string, delayMs: number): Promise<{ killed: boolean; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let armed = false;
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (!armed && out.includes(after)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ota-agent ${argv.join(' ')} hung:\n${out}`)); }, 60_000);
    child.on('exit', (_code, signal) => { clearTimeout(timer); resolve({ killed: signal === 'SIGKILL', out }); });
  });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Check the invariants; returns the installed-version floor. */
async function invariants(dir: string, images: { A: string; v2: string }, floor: number, where: string): Promise<number> {
  const env = fwPrintenv(join(dir, 'dev/fw_env.config'));
  assert.ok(env.has('OTA_BOOT_COUNT'), `${where}: the env has a valid copy with the canary`);
  const s = await statusJson(dir, CONFIG);
  const primary = s['primary'] === 'B' ? 'B' : 'A';
  const held = sha256(readFileSync(join(dir, `dev/slot-${primary}.img`)));
  const allowed = primary === 'A' ? [images.A] : [images.v2];
  assert.ok(allowed.includes(held), `${where}: slot ${primary}, which boots next, holds a complete image`);
  const state: unknown = JSON.parse(readFileSync(join(dir, 'dev/data/state.json'), 'utf8'));
  const installed = typeof state === 'object' && state !== null && 'installedVersion' in state && typeof state.installedVersion === 'number' ? state.installedVersion : -1;
  assert.ok(installed >= floor, `${where}: the version floor went from ${floor} to ${installed}`);
  return installed;
}

/** Bring the device to rest as a fresh agent would: finish the install if cut, then power on until idle. */
async function recover(dir: string, images: { A: string; v2: string }, floor: number, label: string): Promise<Record<string, unknown>> {
  const again = await agent(dir, ...INSTALL);
  assert.ok(again.code === 0 || /MACHINE_BUSY|older than|is the installed version|already failed/.test(again.stderr), `${label}: install again: ${again.stderr}`);
  let f = await invariants(dir, images, floor, `${label}, install again`);
  for (let boot = 1; boot <= 6; boot++) {
    await agentOk(dir, ...BOOT);
    f = await invariants(dir, images, f, `${label}, power-on ${boot}`);
    const s = await statusJson(dir, CONFIG);
    if (s['phase'] === 'idle' && s['booted'] === s['primary']) return s;
  }
  throw new Error(`${label}: no rest after 6 power-ons`);
}

it(`power cuts at every logged step, ${SEEDS} seeds each: invariants hold and the device converges`, async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 512 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 300_000, 'release two');
    await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2', '--segment-size', String(64 * 1024));
    const images = { A: sha256(readFileSync(join(t.dir, 'v1.img'))), v2: sha256(readFileSync(join(t.dir, 'v2.img'))) };
    let cuts = 0;
    const phases = new Map<string, number>();
    for (const [k, point] of POINTS.entries()) {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const label = `cut after "${point.after}" (seed ${seed})`;
        const dir = join(t.dir, `run-${k}-${seed}`);
        await agentOk(t.dir, 'sim', 'create', join(dir, 'dev'), '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1', '--env', seed % 2 === 0 ? 'single' : 'redundant');
        cpSync(join(t.dir, 'rel2'), join(dir, 'rel2'), { recursive: true });
        if (point.command !== INSTALL) await agentOk(dir, ...INSTALL);
        const delayMs = Math.floor(mulberry32(seed * 1000 + k)() * 4);
        const cut = await runAndCut(dir, point.command, point.after, delayMs);
        if (cut.killed) cuts++;
        const floor = await invariants(dir, images, 1, `${label}, right after the cut`);
        const phase = String((await statusJson(dir, CONFIG))['phase']);
        phases.set(phase, (phases.get(phase) ?? 0) + 1);
        const rest = await recover(dir, images, floor, label);
        const last = rest['lastUpdate'];
        assert.ok(typeof last === 'object' && last !== null, `${label}: the outcome is reported`);
        assert.ok(rest['version'] === 1 || rest['version'] === 2, `${label}: runs a known release`);
      }
    }
    console.log(`# power cuts: ${cuts} of ${POINTS.length * SEEDS} runs killed; journal state right after the cut: ${[...phases].map(([p, n]) => `${p} ${n}`).join(', ')}`);
    assert.ok(cuts >= POINTS.length, `most runs were really cut (${cuts} of ${POINTS.length * SEEDS})`);
  } finally { t.cleanup(); }
});

test.run();
