/**
 * A child process of `bench:fleet` holding a slice of the 10,000 simulated
 * devices (lightweight mqtt.js clients, the agents' real backoff). It reports
 * when each device received a rollout message and when each (re)connected.
 */
import { SimFleet, wallMs } from '../../test/support/sim-fleet.js';

/** Messages from the parent. */
type FromParent =
  | { kind: 'start'; url: string; hardware: string; rootBase64: string; first: number; count: number; stepMs: number }
  | { kind: 'collect' }
  | { kind: 'stop' };

let fleet: SimFleet | undefined;
let receipts: number[] = [];
let connects: number[] = [];

function send(msg: object): void {
  process.send?.(msg);
}

function isMessage(v: unknown): v is FromParent {
  return typeof v === 'object' && v !== null && 'kind' in v && typeof v.kind === 'string';
}

process.on('message', (raw: unknown) => {
  if (!isMessage(raw)) return;
  if (raw.kind === 'start') void start(raw);
  else if (raw.kind === 'collect') {
    const devices = fleet?.devices ?? [];
    send({ kind: 'collected', receipts, connects, installing: devices.filter((d) => d.installs.length > 0).length, committed: devices.filter((d) => d.version === 2).length, rssBytes: process.resourceUsage().maxRSS * 1024 });
    receipts = [];
    connects = [];
  } else if (raw.kind === 'stop') {
    void (fleet?.stop() ?? Promise.resolve()).then(() => process.exit(0));
  }
});

async function start(m: Extract<FromParent, { kind: 'start' }>): Promise<void> {
  const specs = Array.from({ length: m.count }, (_, k) => ({ deviceId: `bench-${String(m.first + k).padStart(5, '0')}`, version: 1 }));
  fleet = new SimFleet(specs, {
    url: m.url, protocolVersion: 5, hardware: m.hardware, rootBytes: Buffer.from(m.rootBase64, 'base64'), stepMs: m.stepMs, sharedVerify: true,
    onMessage: (_id, atMs) => { receipts.push(atMs); },
    onConnect: (_id, atMs) => { connects.push(atMs); },
  });
  await fleet.start(100);
  send({ kind: 'connected', atMs: wallMs() });
}
