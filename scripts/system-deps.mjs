// The Debian packages the tests use, by the command that shows each is installed.
// One list, read by scripts/test.mjs (installs what is missing when run as root)
// and by .ci/run (installs all of them).
export const systemDeps = [
  { command: 'fw_printenv', pkg: 'libubootenv-tool' },
  { command: 'mkenvimage', pkg: 'u-boot-tools' },
  { command: 'mkimage', pkg: 'u-boot-tools' },
  { command: 'mosquitto', pkg: 'mosquitto', paths: ['/usr/sbin/mosquitto'] },
  { command: 'bsdiff', pkg: 'bsdiff' },
  { command: 'xdelta3', pkg: 'xdelta3' },
  { command: 'casync', pkg: 'casync' },
  { command: 'zstd', pkg: 'zstd' },
  { command: 'xz', pkg: 'xz-utils' },
  { command: 'python3', pkg: 'python3' },
  { command: 'mke2fs', pkg: 'e2fsprogs', paths: ['/usr/sbin/mke2fs', '/sbin/mke2fs'] },
  // ota-fleet release reads an image's /etc with debugfs; the pre-init is tested under busybox sh and its applets
  { command: 'debugfs', pkg: 'e2fsprogs', paths: ['/usr/sbin/debugfs', '/sbin/debugfs'] },
  { command: 'busybox', pkg: 'busybox' },
  { command: 'mkfs.vfat', pkg: 'dosfstools', paths: ['/usr/sbin/mkfs.vfat', '/sbin/mkfs.vfat'] },
  { command: 'mcopy', pkg: 'mtools' },
  { command: 'cpio', pkg: 'cpio' },
  { command: 'aarch64-linux-gnu-gcc-12', pkg: 'gcc-aarch64-linux-gnu' },
  { command: 'make', pkg: 'make' },
  // U-Boot with a redundant env for QEMU (test/qemu-arm/build-uboot-redundant.sh)
  { command: 'bison', pkg: 'bison' },
  { command: 'flex', pkg: 'flex' },
  { command: 'bc', pkg: 'bc' },
  { command: 'dpkg-source', pkg: 'dpkg-dev' },
  { file: '/usr/include/openssl/evp.h', pkg: 'libssl-dev' },
  { command: 'sfdisk', pkg: 'fdisk', paths: ['/usr/sbin/sfdisk', '/sbin/sfdisk'] },
  { command: 'qemu-system-aarch64', pkg: 'qemu-system-arm' },
  { command: 'qemu-system-arm', pkg: 'qemu-system-arm' },
  { command: 'socat', pkg: 'socat' },
  { command: 'openssl', pkg: 'openssl' },
  { command: 'ip', pkg: 'iproute2', paths: ['/usr/sbin/ip', '/sbin/ip', '/bin/ip'] },
  { command: '/usr/bin/time', pkg: 'time', paths: ['/usr/bin/time'] },
  { file: '/usr/lib/u-boot/qemu_arm64/u-boot.bin', pkg: 'u-boot-qemu' },
  { file: '/usr/lib/u-boot/qemu_arm/u-boot.bin', pkg: 'u-boot-qemu' },
  { file: '/usr/lib/python3/dist-packages/securesystemslib/__init__.py', pkg: 'python3-securesystemslib' },
  // securesystemslib only recommends PyNaCl, which its ed25519 keys need (the trust interop test)
  { file: '/usr/lib/python3/dist-packages/nacl/__init__.py', pkg: 'python3-nacl' },
  // the shipped systemd units are checked with systemd-analyze verify (test/unit/boot/unit-sandbox.test.ts)
  { command: 'systemd-analyze', pkg: 'systemd' },
  // npm run build:deb builds the agent's .deb with dpkg-deb; its test runs lintian on it (test/integration/device/deb.test.ts)
  { command: 'dpkg-deb', pkg: 'dpkg' },
  { command: 'lintian', pkg: 'lintian' },
  // ota-fleet image build: the .bmap beside the image, and owners from a tar without root
  { command: 'bmaptool', pkg: 'bmap-tools' },
  { command: 'fakeroot', pkg: 'fakeroot' },
  // the emulated board's systemd slot: its users (systemd-sysusers --root) and SSH host keys (test/qemu-arm/build-image.sh)
  { command: 'systemd-sysusers', pkg: 'systemd' },
  { command: 'ssh-keygen', pkg: 'openssh-client' },
  // the fleet registry's PostgreSQL store is tested on a server the tests start (test/support/postgres.ts; Debian 12 ships 15)
  { file: '/usr/lib/postgresql/15/bin/postgres', pkg: 'postgresql' },
  // better-sqlite3 compiles its SQLite binding with node-gyp where no prebuilt binary fits (npm ci)
  { command: 'g++', pkg: 'g++' },
];

export const packages = [...new Set(systemDeps.map((d) => d.pkg))].sort();
