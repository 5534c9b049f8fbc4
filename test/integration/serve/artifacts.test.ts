import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as http from 'node:http';
import { serveArtifacts, type ArtifactServer } from '../../../fleet/src/serve/index.js';
import { tempDir } from '../../support/tools.js';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

const t = tempDir();
const data = randomBytes(100_000);
let server: ArtifactServer;

test.before(async () => {
  writeFileSync(join(t.dir, 'delta.bin'), data);
  writeFileSync(join(t.dir, '..secret'), 'x');
  server = await serveArtifacts(t.dir);
});
test.after(async () => {
  await server.close();
  t.cleanup();
});

test('a plain GET returns the whole file with strong validators', async () => {
  const r = await get(`${server.url}delta.bin`);
  assert.is(r.status, 200);
  assert.ok(r.body.equals(data));
  assert.match(String(r.headers.etag), /^"[0-9a-f-]+"$/);
  assert.ok(r.headers['last-modified']);
  assert.is(r.headers['accept-ranges'], 'bytes');
});

test('a Range request returns 206 with the exact bytes and Content-Range', async () => {
  const r = await get(`${server.url}delta.bin`, { Range: 'bytes=1000-1999' });
  assert.is(r.status, 206);
  assert.is(r.headers['content-range'], `bytes 1000-1999/${data.length}`);
  assert.ok(r.body.equals(data.subarray(1000, 2000)));
});

test('If-Range with the current ETag keeps the range; a stale one gets the whole file', async () => {
  const etag = String((await get(`${server.url}delta.bin`, {}, 'HEAD')).headers.etag);
  const fresh = await get(`${server.url}delta.bin`, { Range: 'bytes=10-19', 'If-Range': etag });
  assert.is(fresh.status, 206);
  assert.is(fresh.body.length, 10);
  const stale = await get(`${server.url}delta.bin`, { Range: 'bytes=10-19', 'If-Range': '"stale"' });
  assert.is(stale.status, 200);
  assert.is(stale.body.length, data.length);
});

test('an unsatisfiable range is 416 with the size', async () => {
  const r = await get(`${server.url}delta.bin`, { Range: `bytes=${data.length}-` });
  assert.is(r.status, 416);
  assert.is(r.headers['content-range'], `bytes */${data.length}`);
});

test('paths outside the directory and missing files are 404', async () => {
  assert.is((await get(`${server.url}..%2f..%2fetc%2fpasswd`)).status, 404);
  assert.is((await get(`${server.url}nope.bin`)).status, 404);
  assert.is((await get(`${server.url}..secret`)).status, 200, 'a name starting with dots inside the root is fine');
});

test('the server counts the body bytes it sent', async () => {
  const before = server.bytesSent();
  await get(`${server.url}delta.bin`, { Range: 'bytes=0-499' });
  assert.is(server.bytesSent() - before, 500);
});

test('methods other than GET and HEAD are refused', async () => {
  assert.is((await get(`${server.url}delta.bin`, {}, 'PUT')).status, 405);
});

test('If-None-Match with the current ETag (or *) answers 304 without a body; another ETag gets the file', async () => {
  const etag = String((await get(`${server.url}delta.bin`)).headers.etag);
  for (const match of [etag, `"other", ${etag}`, '*']) {
    const r = await get(`${server.url}delta.bin`, { 'If-None-Match': match });
    assert.equal([r.status, r.body.length, r.headers.etag], [304, 0, etag], match);
  }
  const changed = await get(`${server.url}delta.bin`, { 'If-None-Match': '"other"' });
  assert.equal([changed.status, changed.body.length], [200, data.length]);
});

test.run();
