/**
 * `npm run demo` as a program (the compiled demo, as scripts/demo.mjs runs it after
 * building), with a smaller fleet: real agents in their own processes, the embedded
 * broker and artifact server, a staged rollout. The summary it writes as JSON is
 * checked against what the demo claims; the run must leave no process or file behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../support/tools.js';

const demo = fileURLToPath(new URL('../../../fleet/src/demo/main.js', import.meta.url));

interface Run { code: number | null; out: string; summary: Record<string, unknown> }

/** Run the demo with `args`; resolves once it exited, with its summary JSON. */
function runDemo(args: readonly string[]): Promise<Run> {
  const t = tempDir('ota-demo-test-');
  const file = join(t.dir, 'summary.json');
  const child = spawn(process.execPath, [demo, ...args, '--summary-json', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`demo still running after 5 min:\n${out}`)); }, 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        const parsed: unknown = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
        const summary = typeof parsed === 'object' && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {};
        resolve({ code, out, summary });
      } catch (err) {
        reject(err);
      } finally {
        t.cleanup();
      }
    });
  });
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function revertedOf(v: unknown): { deviceId: unknown; error: unknown; failedChecks: unknown }[] {
  return Array.isArray(v) ? v.map((r: unknown) => (typeof r === 'object' && r !== null ? { deviceId: Reflect.get(r, 'deviceId'), error: Reflect.get(r, 'error'), failedChecks: Reflect.get(r, 'failedChecks') } : { deviceId: undefined, error: undefined, failedChecks: undefined })) : [];
}

/** The demo's temp directory, from its first line. */
function workDir(out: string): string {
  return /working in (\S+)/.exec(out)?.[1] ?? '';
}

test('npm run demo -- --devices 4: the failing device reverts on its own, the others commit v2, the delta is what is sent', async () => {
  const r = await runDemo(['--devices', '4']);
  assert.is(r.code, 0, r.out);
  const s = r.summary;
  const failing = s['failingDevice'];
  assert.type(failing, 'string', r.out);
  assert.is(s['rolloutStatus'], 'completed');
  const reverted = revertedOf(s['reverted']);
  assert.equal(reverted.map((x) => x.deviceId), [failing], 'exactly the device set up to fail reverted');
  assert.match(String(reverted[0]?.error), 'required health check failed');
  assert.match(strings(reverted[0]?.failedChecks).join('\n'), 'app-selftest (required): FAILED');
  assert.equal(strings(s['updated']).sort(), ['dev-00', 'dev-01', 'dev-02', 'dev-03'].filter((id) => id !== failing));
  assert.equal(s['untouched'], []);
  const sent = Number(s['bytesSent']);
  const full = Number(s['imageSizeBytes']) * Number(s['devices']);
  assert.ok(sent > 0 && sent < full, `sent ${sent} bytes, the full image to every device is ${full}`);
  assert.ok(sent < 4 * Number(s['devices']) * Number(s['deltaSizeBytes']), `sent ${sent} bytes: about one delta per device (${s['deltaSizeBytes']} bytes each)`);
  assert.match(r.out, 'Summary');
  assert.match(r.out, `${String(failing)}: back on v1 (slot A)`);
  assert.ok(workDir(r.out) !== '' && !existsSync(workDir(r.out)), `the temp directory ${workDir(r.out)} is removed`);
});

test('npm run demo -- --devices 4 --halt: a failure in the first stage halts the rollout; devices outside it never install', async () => {
  const r = await runDemo(['--devices', '4', '--halt']);
  assert.is(r.code, 0, r.out);
  const s = r.summary;
  assert.is(s['rolloutStatus'], 'halted');
  assert.equal(revertedOf(s['reverted']).map((x) => x.deviceId), [s['failingDevice']]);
  const untouched = strings(s['untouched']);
  assert.ok(untouched.length > 0, 'some devices were never offered the release');
  assert.is(untouched.length + strings(s['updated']).length + 1, 4);
  assert.match(r.out, /halted: stage \d/);
  assert.ok(!existsSync(workDir(r.out)), 'the temp directory is removed');
});

test.run();
