/**
 * `npm run bench:link`: bytes on the wire for a delta-sized download over a
 * 256 kbit/s link whose connection is cut every 10 s (namespaces + veth + tbf,
 * made and removed here; needs root). Last line: `wire/delta = R`.
 * Override with OTA_LINK_SIZE_BYTES, OTA_LINK_RATE_KBIT, OTA_LINK_CUT_MS, OTA_LINK_SEED.
 */
import { runOverLink } from '../test/support/link-run.js';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};

const params = {
  sizeBytes: env('OTA_LINK_SIZE_BYTES', 1536 * 1024),
  segmentBytes: 256 * 1024,
  rateKbit: env('OTA_LINK_RATE_KBIT', 256),
  cutEveryMs: env('OTA_LINK_CUT_MS', 10_000),
  seed: env('OTA_LINK_SEED', 1),
};
console.log(`delta ${params.sizeBytes} bytes (pseudo-random, seed ${params.seed}), segments ${params.segmentBytes} bytes, `
  + `link ${params.rateKbit} kbit/s (tbf), connection cut every ${params.cutEveryMs} ms`);
const r = await runOverLink(params);
if ('skip' in r) {
  console.log(`bench:link skipped: ${r.skip}`);
  process.exit(1);
}
const ratio = (x: number): string => (x / params.sizeBytes).toFixed(3);
console.log(`took ${r.seconds.toFixed(1)} s; ${r.cuts} cuts, ${r.connections} connections, ${r.requests} requests; retries: ${r.retries.join(' ') || 'none'}`);
console.log(`final hash ${r.hashOk ? 'matches' : 'DOES NOT MATCH'}`);
console.log(`server body bytes handed to its kernel: ${r.serverBodyBytes} (${ratio(r.serverBodyBytes)} x; includes bytes queued at a cut)`);
console.log(`veth frames transmitted by the server end: ${r.serverTxBytes} (${ratio(r.serverTxBytes)} x; IP/TCP headers and retransmissions included)`);
console.log(`TCP payload across the link, measured by the client-side proxy: down ${r.proxyDownBytes} + up ${r.proxyUpBytes}`);
if (!r.hashOk) process.exitCode = 1;
console.log(`wire/delta = ${ratio(r.proxyDownBytes + r.proxyUpBytes)}`);
