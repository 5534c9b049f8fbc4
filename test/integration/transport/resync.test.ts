// The rollout resync over HTTP against real local servers: the fleet's artifact server
// (200 with ETag, 304 on If-None-Match, 404) and a scripted one for the failures
// (5xx, a hang, a cut body, an oversized body), with mirrors in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serveRolloutDocument } from '../../../fleet/src/publish/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { HttpRolloutResync, MAX_ROLLOUT_DOCUMENT_BYTES, rolloutDocumentPath } from '../../../agent/src/transport/index.js';
import { tempDir } from '../../support/tools.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local server answering with `handler`; records the requests' If-None-Match. */
async function scripted(handler: Handler): Promise<{ url: string; seen: (string | undefined)[]; close: () => Promise<void> }> {
  const seen: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => { seen.push(req.headers['if-none-match']); handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

const never = new AbortController().signal;

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected a rejection');
}

test('the path of a hardware\'s document; a hardware that cannot be a path level is refused', () => {
  assert.is(rolloutDocumentPath('rpi-4'), 'rollout/rpi-4.json');
  assert.throws(() => rolloutDocumentPath('../x/y'), /cannot be an MQTT topic level/);
});

test('the fleet\'s artifact server: 404 before anything is published, then the document, then 304 until it changes', async () => {
  const t = tempDir();
  const server = await serveArtifacts(t.dir);
  try {
    const resync = new HttpRolloutResync({ baseUrls: [server.url], hardware: 'hw-1' });
    assert.equal(resync.documentUrls, [`${server.url}rollout/hw-1.json`]);
    assert.is(await resync.fetchCurrent(never), undefined, '404: nothing current');
    await serveRolloutDocument(t.dir, ['hw-1', 'hw-2'], Buffer.from('{"notice":1}'));
    assert.is(Buffer.from(await resync.fetchCurrent(never) ?? []).toString(), '{"notice":1}');
    assert.is(await resync.fetchCurrent(never), undefined, 'unchanged: the server answers 304 to the ETag');
    await serveRolloutDocument(t.dir, ['hw-1'], Buffer.from('{"notice":2}'));
    assert.is(Buffer.from(await resync.fetchCurrent(never) ?? []).toString(), '{"notice":2}', 'a new document (a new ETag) is fetched again');
  } finally {
    await server.close();
    t.cleanup();
  }
});

test('If-None-Match carries the last ETag of that URL; a 404 forgets it', async () => {
  let status = 200;
  const s = await scripted((_req, res) => {
    if (status === 200) res.writeHead(200, { ETag: '"v1"' }).end('doc');
    else res.writeHead(status).end();
  });
  try {
    const resync = new HttpRolloutResync({ baseUrls: [s.url.replace(/\/$/, '')], hardware: 'hw' });
    assert.is(Buffer.from(await resync.fetchCurrent(never) ?? []).toString(), 'doc');
    status = 304;
    assert.is(await resync.fetchCurrent(never), undefined);
    status = 404;
    assert.is(await resync.fetchCurrent(never), undefined);
    status = 200;
    assert.is(Buffer.from(await resync.fetchCurrent(never) ?? []).toString(), 'doc');
    assert.equal(s.seen, [undefined, '"v1"', '"v1"', undefined]);
  } finally {
    await s.close();
  }
});

test('mirrors in order: a failing mirror is skipped, a 404 mirror defers to one that has the document', async () => {
  const broken = await scripted((_req, res) => res.writeHead(503).end());
  const empty = await scripted((_req, res) => res.writeHead(404).end());
  const t = tempDir();
  mkdirSync(join(t.dir, 'rollout'));
  writeFileSync(join(t.dir, 'rollout', 'hw.json'), 'current');
  const good = await serveArtifacts(t.dir);
  try {
    const resync = new HttpRolloutResync({ baseUrls: [broken.url, empty.url, good.url], hardware: 'hw' });
    assert.is(Buffer.from(await resync.fetchCurrent(never) ?? []).toString(), 'current');
    assert.equal([broken.seen.length, empty.seen.length], [1, 1]);
  } finally {
    await Promise.all([broken.close(), empty.close(), good.close()]);
    t.cleanup();
  }
});

test('when no mirror answers, the fetch fails (transient, the transport retries); a 404 next to a failure is no answer', async () => {
  const broken = await scripted((_req, res) => res.writeHead(500).end());
  const empty = await scripted((_req, res) => res.writeHead(404).end());
  try {
    const message = await rejection(new HttpRolloutResync({ baseUrls: [empty.url, broken.url], hardware: 'hw' }).fetchCurrent(never));
    assert.match(message, `${broken.url}rollout/hw.json: HTTP 500`);
    assert.match(message, 'other mirrors have none');
    assert.match(await rejection(new HttpRolloutResync({ baseUrls: ['http://127.0.0.1:9/'], hardware: 'hw' }).fetchCurrent(never)), /ECONNREFUSED/);
  } finally {
    await Promise.all([broken.close(), empty.close()]);
  }
});

test('a hung mirror times out; a cut or oversized body is refused; an abort stops the fetch', async () => {
  const hung = await scripted(() => undefined);
  const cut = await scripted((_req, res) => { res.writeHead(200, { 'Content-Length': '100' }); res.write('partial'); setTimeout(() => res.destroy(), 20); });
  const huge = await scripted((_req, res) => { res.writeHead(200); res.end(Buffer.alloc(MAX_ROLLOUT_DOCUMENT_BYTES + 1)); });
  try {
    assert.match(await rejection(new HttpRolloutResync({ baseUrls: [hung.url], hardware: 'hw', timeoutMs: 200 }).fetchCurrent(never)), 'no answer in 200 ms');
    assert.match(await rejection(new HttpRolloutResync({ baseUrls: [cut.url], hardware: 'hw' }).fetchCurrent(never)), /aborted|cut|ECONNRESET/);
    assert.match(await rejection(new HttpRolloutResync({ baseUrls: [huge.url], hardware: 'hw' }).fetchCurrent(never)), 'not a rollout document');
    const stop = new AbortController();
    const pending = new HttpRolloutResync({ baseUrls: [hung.url], hardware: 'hw' }).fetchCurrent(stop.signal);
    stop.abort(new Error('agent stopping'));
    assert.match(await rejection(pending), 'agent stopping');
  } finally {
    await Promise.all([hung.close(), cut.close(), huge.close()]);
  }
});

test.run();
