/**
 * A constrained link made by the test itself: two network namespaces joined by
 * a veth pair, each end rate-limited with `tc qdisc ... tbf` (netem is not
 * available here). Addresses are 10.200.N.1 (server side) and 10.200.N.2
 * (client side), inside those namespaces only. Needs root; `createLink` returns
 * a reason to skip when namespaces cannot be made. Namespaces are removed by
 * `remove()`, and on process exit if a test forgets or fails.
 */
import { spawnSync } from 'node:child_process';

/** A link between two namespaces. */
export interface Link {
  readonly serverNs: string;
  readonly clientNs: string;
  readonly serverAddress: string;
  readonly clientAddress: string;
  /** argv prefix running a command inside a namespace. */
  exec(ns: string): string[];
  /** TCP/IP bytes the server end has transmitted (all frames, headers and retransmissions included). */
  serverTxBytes(): number;
  /** Delete both namespaces (and so the veth pair); safe to call twice. */
  remove(): void;
}

/** Link settings. */
export interface LinkOptions {
  readonly rateKbit: number;
  /** tbf burst, bytes. */
  readonly burstBytes?: number;
  /** tbf queue size, as the longest a packet may wait. */
  readonly latencyMs?: number;
}

const PATH = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

function ip(args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', env: { ...process.env, PATH: PATH } });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error?.message ?? '') };
}

function must(args: string[]): string {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.err.trim()}`);
  return r.out;
}

const live = new Set<string>();
let exitHookInstalled = false;

function removeNs(ns: string): void {
  if (!live.delete(ns)) return;
  ip(['netns', 'del', ns]);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const ns of [...live]) removeNs(ns); });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { for (const ns of [...live]) removeNs(ns); process.exit(130); });
  }
}

/**
 * Why no link can be made here (not root, `ip` or `tc` missing, no namespace support), or undefined when
 * one can: decided before a test registers, so a test that cannot run is skipped by name (test/support/skip.ts)
 * instead of returning early and counting as passed.
 */
export function linkSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const missing = ['ip', 'tc'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { env: { ...process.env, PATH } }).status !== 0);
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  const ns = `ota-dl-probe-${process.pid % 100_000}`;
  const probe = ip(['netns', 'add', ns]);
  if (!probe.ok) return `ip netns add failed (${probe.err.trim()}): no network namespaces here`;
  ip(['netns', 'del', ns]);
  return undefined;
}

/** Make the link, or return why it cannot be made here (not root, no netns support). */
export function createLink(options: LinkOptions): Link | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'needs root to create network namespaces' };
  const tag = `${process.pid % 100_000}`;
  const serverNs = `ota-dl-${tag}-s`;
  const clientNs = `ota-dl-${tag}-c`;
  const probe = ip(['netns', 'add', serverNs]);
  if (!probe.ok) return { skip: `ip netns add failed (${probe.err.trim()}): no network namespaces here` };
  installExitHook();
  live.add(serverNs);
  const subnet = `10.200.${process.pid % 250}`;
  const vs = `ods${tag}`;
  const vc = `odc${tag}`;
  const link: Link = {
    serverNs, clientNs, serverAddress: `${subnet}.1`, clientAddress: `${subnet}.2`,
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    serverTxBytes: () => {
      const m = /TX:[^\n]*\n\s*(\d+)/.exec(must(['-n', serverNs, '-s', 'link', 'show', vs]));
      return m === null ? 0 : Number(m[1]);
    },
    remove: () => { removeNs(clientNs); removeNs(serverNs); },
  };
  try {
    must(['netns', 'add', clientNs]);
    live.add(clientNs);
    must(['link', 'add', vs, 'netns', serverNs, 'type', 'veth', 'peer', 'name', vc, 'netns', clientNs]);
    const tbf = ['root', 'tbf', 'rate', `${options.rateKbit}kbit`, 'burst', String(options.burstBytes ?? 4096), 'latency', `${options.latencyMs ?? 100}ms`];
    for (const [ns, dev, addr] of [[serverNs, vs, link.serverAddress], [clientNs, vc, link.clientAddress]] as const) {
      must(['-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev]);
      must(['-n', ns, 'link', 'set', dev, 'up']);
      must(['-n', ns, 'link', 'set', 'lo', 'up']);
      const r = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, ...tbf], { encoding: 'utf8', env: { ...process.env, PATH } });
      if (r.status !== 0) throw new Error(`tc qdisc add dev ${dev} ${tbf.join(' ')}: ${(r.stderr ?? '').trim()}`);
    }
  } catch (err) {
    link.remove();
    throw err;
  }
  return link;
}
