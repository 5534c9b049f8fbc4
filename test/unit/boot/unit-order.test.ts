// The shipped units, once enabled (their [Install] WantedBy=), form no ordering cycle: a target orders
// itself after the units it wants (systemd.target(5), default dependencies), so a unit wanted by
// multi-user.target that also runs After=multi-user.target, with another unit after it, is a cycle
// that systemd breaks by dropping a job at boot (it dropped ota-agent.service: found on the
// emulated board's systemd slot, test/qemu-arm/systemd.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { OTA_UNITS } from '../../../agent/src/boot/index.js';
import { repoPath } from '../../support/boot-device.js';

/** Values of `key=` lines (space-separated lists) in `section` of a unit file. */
function values(text: string, section: string, key: string): string[] {
  let inSection = false;
  return text.split('\n').flatMap((raw) => {
    const line = raw.trim();
    if (line.startsWith('[')) inSection = line === `[${section}]`;
    return inSection && line.startsWith(`${key}=`) ? line.slice(key.length + 1).split(/\s+/).filter((v) => v !== '') : [];
  });
}

/** Edges `a -> b`: a starts after b. */
function orderEdges(units: readonly string[]): Map<string, Set<string>> {
  const after = new Map<string, Set<string>>();
  const add = (a: string, b: string): void => void after.set(a, (after.get(a) ?? new Set()).add(b));
  for (const unit of units) {
    const text = readFileSync(repoPath(`agent/systemd/${unit}`), 'utf8');
    for (const b of values(text, 'Unit', 'After')) add(unit, b);
    for (const b of values(text, 'Unit', 'Before')) add(b, unit);
    for (const target of values(text, 'Install', 'WantedBy')) add(target, unit);
  }
  return after;
}

/** One ordering cycle as `a -> b -> ... -> a`, or undefined. */
function cycle(after: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node].join(' -> ');
    if (done.has(node)) return undefined;
    for (const next of after.get(node) ?? []) {
      const found = visit(next, [...path, node]);
      if (found !== undefined) return found;
    }
    done.add(node);
    return undefined;
  };
  for (const node of after.keys()) {
    const found = visit(node, []);
    if (found !== undefined) return found;
  }
  return undefined;
}

test('the enabled units have no ordering cycle', () => {
  const edges = orderEdges(OTA_UNITS);
  assert.ok(edges.get('multi-user.target')?.size === OTA_UNITS.length, 'both units are wanted by multi-user.target');
  assert.is(cycle(edges), undefined);
});

test('the agent starts after the post-boot health check', () => {
  assert.ok(orderEdges(OTA_UNITS).get('ota-agent.service')?.has('ota-agent-health.service'));
});

test.run();
