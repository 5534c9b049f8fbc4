/**
 * Running `npm run demo` as a program in tests (the compiled demo, as
 * scripts/demo.mjs runs it after building), and the checks of a completed run:
 * the failing device reverted on its own, every other device committed v2, the
 * artifact server sent about one delta per device (far less than the full image
 * to each), and the demo left no temp directory behind.
 */
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tools.js';

const demo = fileURLToPath(new URL('../../fleet/src/demo/main.js', import.meta.url));

/** A finished run: exit code, stdout and stderr together, the summary JSON. */
export interface DemoRun { code: number | null; out: string; summary: Record<string, unknown> }

/** Run the demo with `args`; resolves once it exited, with its summary JSON. */
export function runDemo(args: readonly string[]): Promise<DemoRun> {
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

/** The strings of a JSON array (others dropped). */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The reverted devices of a summary, field by field. */
export function revertedOf(v: unknown): { deviceId: unknown; error: unknown; failedChecks: unknown }[] {
  return Array.isArray(v) ? v.map((r: unknown) => (typeof r === 'object' && r !== null ? { deviceId: Reflect.get(r, 'deviceId'), error: Reflect.get(r, 'error'), failedChecks: Reflect.get(r, 'failedChecks') } : { deviceId: undefined, error: undefined, failedChecks: undefined })) : [];
}

/** The demo's temp directory, from its first line. */
export function workDir(out: string): string {
  return /working in (\S+)/.exec(out)?.[1] ?? '';
}

/** A completed run of `devices` devices: the failing one reverted on its own, the others committed v2, the delta is what was sent. */
export function assertCompletedStory(r: DemoRun, devices: number): void {
  assert.is(r.code, 0, r.out);
  const s = r.summary;
  const failing = s['failingDevice'];
  assert.type(failing, 'string', r.out);
  assert.is(s['rolloutStatus'], 'completed');
  const reverted = revertedOf(s['reverted']);
  assert.equal(reverted.map((x) => x.deviceId), [failing], 'exactly the device set up to fail reverted');
  assert.match(String(reverted[0]?.error), 'required health check failed');
  assert.match(strings(reverted[0]?.failedChecks).join('\n'), 'app-selftest (required): FAILED');
  const ids = Array.from({ length: devices }, (_, k) => `dev-${String(k).padStart(2, '0')}`);
  assert.equal(strings(s['updated']).sort(), ids.filter((id) => id !== failing));
  assert.equal(s['untouched'], []);
  const sent = Number(s['bytesSent']);
  const full = Number(s['imageSizeBytes']) * Number(s['devices']);
  assert.ok(sent > 0 && sent < full, `sent ${sent} bytes, the full image to every device is ${full}`);
  assert.ok(sent < 4 * Number(s['devices']) * Number(s['deltaSizeBytes']), `sent ${sent} bytes: about one delta per device (${s['deltaSizeBytes']} bytes each)`);
  assert.match(r.out, 'Summary');
  assert.match(r.out, `${String(failing)}: back on v1 (slot A)`);
  assert.ok(workDir(r.out) !== '' && !existsSync(workDir(r.out)), `the temp directory ${workDir(r.out)} is removed`);
}
