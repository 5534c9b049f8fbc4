#!/usr/bin/env node
// `npm run check:imports [-- ROOT]`: the folder layout's two rules, checked on the TypeScript sources.
// 1. No import cycle between folders: a folder is the first directory under agent/src/ or fleet/src/
//    (agent/src/boot, fleet/src/rollout); every relative import, type-only ones included (a type a
//    folder needs from another is a dependency on it as much as a value), counts as an edge.
// 2. Device code (agent/src/**) never imports fleet code (fleet/src/**): the device bundle leaves it out.
// Prints each broken rule on one line (a cycle as a chain `a -> b -> a`) and exits 1; prints nothing
// and exits 0 when both hold. ROOT (default: the repository) is where agent/src and fleet/src live.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIDES = ['agent/src', 'fleet/src'];

/** Every `.ts` file under `dir`, recursively, sorted. */
function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

// import/export ... from '...', import '...', import('...'): the specifiers of one source text.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** The relative specifiers `source` imports (`./x.js`, `../boot/index.js`). */
export function relativeImports(source) {
  const noComments = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...noComments.matchAll(SPECIFIER)].map((m) => m[1]).filter((s) => s.startsWith('.'));
}

/** `agent/src/boot` for a path under ROOT/agent/src/boot/..., or undefined outside both sides. */
export function folderOf(root, file) {
  const rel = relative(root, file).split(sep).join('/');
  for (const side of SIDES) {
    if (!rel.startsWith(`${side}/`)) continue;
    const parts = rel.slice(side.length + 1).split('/');
    return parts.length > 1 ? `${side}/${parts[0]}` : side;
  }
  return undefined;
}

/** The folder graph of the sources under `root`: folder -> folder -> the first file that makes the edge. */
export function folderGraph(root) {
  const graph = new Map();
  const fleetImports = [];
  for (const side of SIDES) {
    for (const file of tsFiles(join(root, side))) {
      const from = folderOf(root, file);
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec);
        const to = folderOf(root, target);
        const fileRel = relative(root, file).split(sep).join('/');
        if (from.startsWith('agent/') && relative(join(root, 'fleet'), target).split(sep)[0] !== '..') {
          fleetImports.push(`${fileRel} imports ${spec}`);
        }
        if (to === undefined || to === from) continue;
        if (!graph.has(from)) graph.set(from, new Map());
        if (!graph.get(from).has(to)) graph.get(from).set(to, fileRel);
      }
    }
  }
  return { graph, fleetImports };
}

/**
 * The cycles of `graph` (a Map of Maps), one per strongly connected component with more than one
 * folder: its folders, and a shortest chain through the first of them that starts and ends with it.
 */
export function findCycles(graph) {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((e) => [...e.keys()])])].sort();
  const next = (n) => [...(graph.get(n)?.keys() ?? [])].sort();
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map(), low = new Map(), onStack = new Set(), stack = [], components = [];
  const visit = (n) => {
    index.set(n, counter); low.set(n, counter); counter += 1;
    stack.push(n); onStack.add(n);
    for (const m of next(n)) {
      if (!index.has(m)) { visit(m); low.set(n, Math.min(low.get(n), low.get(m))); }
      else if (onStack.has(m)) low.set(n, Math.min(low.get(n), index.get(m)));
    }
    if (low.get(n) !== index.get(n)) return;
    const component = [];
    let m;
    do { m = stack.pop(); onStack.delete(m); component.push(m); } while (m !== n);
    if (component.length > 1) components.push(new Set(component));
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return components.map((c) => ({ chain: chainThrough(c, next), folders: [...c].sort() }));
}

/** A shortest cycle through the first folder of component `c`, found breadth-first inside `c`. */
function chainThrough(c, next) {
  const start = [...c].sort()[0];
  const parent = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const n = queue.shift();
    for (const m of next(n)) {
      if (!c.has(m)) continue;
      if (m === start) {
        const chain = [start];
        for (let p = n; p !== start; p = parent.get(p)) chain.splice(1, 0, p);
        return [...chain, start];
      }
      if (!parent.has(m)) { parent.set(m, n); queue.push(m); }
    }
  }
  return [start, start];
}

/** The problems of the tree under `root`, one line each. */
export function checkImports(root) {
  const { graph, fleetImports } = folderGraph(root);
  const cycles = findCycles(graph).map(({ chain, folders }) => {
    const via = chain.slice(1).map((to, i) => graph.get(chain[i]).get(to));
    const all = folders.length > 2 ? ` (${folders.length} folders in one cycle: ${folders.join(', ')})` : '';
    return `import cycle between folders: ${chain.join(' -> ')} (by ${via.join(', ')})${all}: move what both need into a folder both import, or the wiring into the CLI`;
  });
  const device = fleetImports.map((line) => `device code imports fleet code: ${line}: the device bundle has no fleet code; move what both need under agent/src`);
  return [...cycles, ...device];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
  const problems = checkImports(root);
  for (const p of problems) console.error(p);
  process.exit(problems.length === 0 ? 0 : 1);
}
