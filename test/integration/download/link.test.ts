/**
 * A download over a real constrained link: two network namespaces joined by a
 * veth pair rate-limited with tbf, connections cut by a proxy. Root only: where no
 * link can be made, the test is skipped by name with the reason. The full measurement is `npm run bench:link`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runOverLink } from '../../support/link-run.js';
import { linkSkipReason } from '../../support/netns.js';
import { gate } from '../../support/skip.js';

const SIZE = 256 * 1024;
const it = gate(linkSkipReason());

it('1 Mbit/s tbf link cut every 1.5 s: the hash matches and the wire carries <= 1.02 x the size', async () => {
  const r = await runOverLink({ sizeBytes: SIZE, segmentBytes: 64 * 1024, rateKbit: 1024, cutEveryMs: 1500, seed: 9 });
  // the probe above made a namespace: failing to make one now is a failure, never a pass
  if ('skip' in r) throw new Error(`no link although the probe made a namespace: ${r.skip}`);
  const ratio = (r.proxyDownBytes + r.proxyUpBytes) / SIZE;
  console.log(`# ${r.cuts} cuts, ${r.requests} requests, wire/delta ${ratio.toFixed(3)}, veth ${(r.serverTxBytes / SIZE).toFixed(3)}, ${r.seconds.toFixed(1)} s`);
  assert.ok(r.hashOk);
  assert.ok(r.cuts >= 1, 'the proxy cut at least once');
  assert.ok(r.retries.every((c) => c === 'DOWNLOAD_CUT'), r.retries.join(' '));
  assert.ok(ratio <= 1.02, `wire/delta ${ratio}`);
});

test.run();
