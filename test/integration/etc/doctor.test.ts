// doctor's /etc check on a device's mountinfo: not booted through the pre-init (a warning that says what
// is lost), /etc the booted slot's overlay (ok), the other slot's upper or no overlay at all (a failure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { etcOverlayCheck } from '../../../agent/src/device/index.js';
import { tempDir } from '../../support/tools.js';

const ROOT = '22 1 179:2 / / ro,relatime shared:1 - ext4 /dev/mmcblk0p2 ro';
const etcLine = (upper: string): string => `31 22 0:30 / /etc rw,relatime shared:9 - overlay overlay rw,lowerdir=/run/ota/lower-etc,upperdir=${upper},workdir=/data/overlay/A/etc/work`;

test('doctor says whether /etc is the booted slot\'s overlay on the data partition', async () => {
  const t = tempDir();
  try {
    const etc = { overlayDir: '/data/overlay', lowerDir: join(t.dir, 'lower-etc') };
    const [verdict, detail] = await etcOverlayCheck(etc, 'A', ROOT);
    assert.equal([verdict, detail.includes('did not boot through ota-init (init=/usr/lib/ota-agent/ota-init)')], ['warn', true], detail);
    mkdirSync(etc.lowerDir);
    assert.equal(await etcOverlayCheck(etc, 'A', `${ROOT}\n${etcLine('/data/overlay/A/etc/upper')}\n`), ['ok', '/etc is an overlay: the device\'s changes go to /data/overlay/A/etc/upper']);
    assert.equal((await etcOverlayCheck(etc, 'B', `${ROOT}\n${etcLine('/data/overlay/A/etc/upper')}\n`))[0], 'fail');
    const none = await etcOverlayCheck(etc, 'A', ROOT);
    assert.equal([none[0], none[1].startsWith('/etc is not an overlay although ota-init ran')], ['fail', true], none[1]);
  } finally {
    t.cleanup();
  }
});

test.run();
