// doctor's reading of /proc/self/mountinfo: the source of the `/` mount.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rootSource } from '../../../agent/src/device/index.js';

test('the root mount source is found; other mounts and odd lines are skipped', () => {
  const mountinfo = [
    '22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
    'garbage line',
    '28 1 179:2 / / rw,relatime shared:1 - ext4 /dev/mmcblk0p2 rw',
    '30 28 179:1 / /boot/firmware rw,relatime shared:9 - vfat /dev/mmcblk0p1 rw',
  ].join('\n');
  assert.is(rootSource(mountinfo), '/dev/mmcblk0p2');
  assert.is(rootSource('22 28 0:20 / /sys rw - sysfs sysfs rw'), null);
});

test.run();
