/**
 * Guest <-> host networking that never leaves this machine: QEMU user networking with
 * restrict=on, and guestfwd from an address inside QEMU to a server on 127.0.0.1 only
 * (what the agent scenarios use for the broker and the artifact server).
 * ota-test: seconds 20
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { missingTools, tempDir } from '../support/tools.js';
import { Machine, copyDisk, ensureImage, logDirFor, qemuSkipReason, type ImageLayout } from '../support/qemu/index.js';
import { gate } from '../support/skip.js';

const STEP_TIMEOUT_MS = 90_000;
const BOARD = 'qemu-virt-arm64-file-env';
const temp = tempDir('ota-qemu-net-');
// an HTTP GET with Node in the guest (busybox-static's wget crashes in static glibc's resolver);
// prints the body, or `refused` when nothing answers within 5 s
const GET = `node -e 'const q = require("http").get(process.argv[1], (r) => r.pipe(process.stdout));`
  + ` q.on("error", () => console.log("refused")); q.setTimeout(5000, () => { console.log("refused"); process.exit(0); })'`;
let skip = qemuSkipReason();
if (skip === undefined && missingTools('the guest network test', 'socat').length > 0) skip = 'missing socat';
let layout: ImageLayout | undefined;
let server: Server | undefined;
const requests: string[] = [];

test.before(async () => {
  if (skip !== undefined) return;
  layout = ensureImage(BOARD);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.end('hello from 127.0.0.1\n');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
});

test.after(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  temp.cleanup();
});

const t = gate(skip);

t('the guest reaches a 127.0.0.1 server through guestfwd, and nothing else (restrict=on)', async () => {
  if (layout === undefined || server === undefined) throw new Error('not set up');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP port');
  const { port } = address;
  const disk = copyDisk(layout, join(temp.dir, 'disk.img'));
  const machine = await Machine.start({
    diskPath: disk, logDir: logDirFor(`${BOARD}-network`),
    forwards: [{ guestAddress: '10.0.2.100', guestPort: 8080, hostPort: port }],
  });
  try {
    await machine.waitFor('init-ready', { timeoutMs: STEP_TIMEOUT_MS });
    const up = await machine.shell('ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && echo up', STEP_TIMEOUT_MS);
    assert.is(up, 'up');
    const answer = await machine.shell(`${GET} http://10.0.2.100:8080/forwarded`, STEP_TIMEOUT_MS);
    assert.is(answer, 'hello from 127.0.0.1');
    // the host as QEMU's gateway (10.0.2.2) at the same port: slirp would reach 127.0.0.1 without restrict=on
    const direct = await machine.shell(`${GET} http://10.0.2.2:${port}/direct`, STEP_TIMEOUT_MS);
    assert.is(direct, 'refused');
    assert.equal(requests, ['/forwarded'], 'only the forwarded request reached the server');
  } catch (err) {
    console.log(machine.failureReport());
    throw err;
  } finally {
    await machine.kill();
  }
});

test.run();
