#!/usr/bin/env bash
# build-image.sh — the disk image of the emulated ARM device for test/qemu-arm.
#
# Usage:  test/qemu-arm/build-image.sh            (prints IMAGE_DIR=<dir> as its last line)
# Output: <dir>/disk.img     MBR disk: p1 FAT boot (boot.scr, and uboot.env when the board keeps its env
#                            there); p2 slot A and p3 slot B (ext4, same content, read-only in the guest;
#                            kernel and initramfs in /boot; the agent bundle and its start script in
#                            /opt/ota, or its .deb installed; /etc/ota/version says 1); p4 data (ext4,
#                            empty: a test provisions it; labelled ota-data in the systemd variant)
#         <dir>/layout.json  board, partition offsets and sizes, kernel version, env placement and size
#         <dir>/boot.scr, uboot.env  the boot partition's files; boot.cmd: the text compiled into boot.scr
# Env:    OTA_QEMU_BOARD   board-configs/<name>.json (default qemu-virt-arm64-file-env: uboot.env on the
#                          FAT; qemu-virt-arm64: U-Boot's env in NOR flash, which also cross-builds the
#                          guest's NOR flash drivers with build-nor-modules.sh; qemu-virt-arm-file-env:
#                          32-bit arm, uboot.env on the FAT). The board's `arch` (arm64 | arm) picks the
#                          Debian architecture (arm64 | armhf) and kernel (linux-image-arm64 | -armmp-lpae)
#         OTA_QEMU_CACHE   cache folder (default <repo>/.cache/qemu-arm): apt lists, .debs, built images
#                          (arm64 in apt/ and debs/, armhf in apt-armhf/ and debs-armhf/)
#         OTA_QEMU_REFRESH=1  run `apt-get update` on the private lists even when they are fresh
#         OTA_QEMU_EXTRA_DEBS  a folder of .debs to take before downloading (default ../shared/bench/debs)
#         OTA_QEMU_AGENT_BUNDLE  the device bundle to put in the busybox slots (default: bundled here from
#                          build/ with scripts/build-device.mjs, so run `npm run build` first)
#         OTA_QEMU_INIT    busybox (default: busybox init, guest/slot-init and guest/start.sh run the agent) or
#                          systemd: Debian's systemd, udev and networkd in the slots, the agent's .deb (built here
#                          from build/ by scripts/build-deb.mjs) unpacked as dpkg does and run by the shipped units
#                          (agent/systemd); the kernel starts the package's pre-init (init=/usr/lib/ota-agent/ota-init)
#                          as on an image from `ota-fleet image build`, see systemd_slot below
#
# No root, no mounts, no network except Debian's package archive through apt. Packages are
# resolved at build time (the current linux-image-*-arm64 or -armmp-lpae, busybox-static, libubootenv-tool,
# nodejs and its libraries), downloaded once with `apt-get download` into the cache and unpacked with dpkg -x.
# The boot script is the board's, compiled by bootloader/build.sh. Built images are kept under a
# key made of every input, so a rerun with nothing changed only resolves packages (about 2 s).
# Maintainer scripts are not run (no ldconfig cache: glibc's multiarch default paths find every
# library). Run as non-root, files in the slots belong to the caller's uid (harmless: the guest
# runs everything as root).
set -euo pipefail
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${OTA_QEMU_CACHE:-$REPO/.cache/qemu-arm}
BENCH_DEBS=${OTA_QEMU_EXTRA_DEBS:-$REPO/../shared/bench/debs}  # optional: .debs already kept for the benchmarks
USERSPACE=(busybox-static nodejs libubootenv-tool)   # plus their dependencies, no recommends
MODULES=(virtio_pci virtio_blk crc32c_generic ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 virtio_net overlay)  # overlay: an image's pre-init
BOARD=${OTA_QEMU_BOARD:-qemu-virt-arm64-file-env}   # board-configs/<BOARD>.json
BOARD_JSON=$REPO/board-configs/$BOARD.json
# partition sizes in MiB (p1 starts at 1 MiB)
BOOT_MIB=16; SLOT_MIB=144; DATA_MIB=16
INIT=${OTA_QEMU_INIT:-busybox}
DATA_LABEL=data  # systemd: the label the pre-init finds the data partition by (docs/data-partition.md)
case "$INIT" in
  busybox) VARIANT=$BOARD ;;
  # dash: /bin/sh of units and scripts; coreutils and grep: the pre-init (agent/init/ota-init) and the
  # package's /usr/bin/ota-agent wrapper; the rest is what systemd needs to reach multi-user.target
  systemd) VARIANT=$BOARD-systemd; USERSPACE+=(systemd systemd-sysv udev util-linux mount kmod iproute2 base-files base-passwd dash coreutils grep)
           SLOT_MIB=208 DATA_LABEL=ota-data ;;
  *) echo "build-image: ERROR: OTA_QEMU_INIT=$INIT: use busybox or systemd" >&2; exit 1 ;;
esac

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: ERROR: $*" >&2; exit 1; }

[ -f "$BOARD_JSON" ] || die "no board config board-configs/$BOARD.json"
board() {  # PATH.IN.JSON -> string value from the board config, once the agent's validator accepts it
  node "$REPO/bootloader/board.mjs" field "$BOARD_JSON" "$1" || die "board config $BOARD_JSON refused (above)"
}
# The board's CPU: Debian architecture, kernel flavour (armmp-lpae: cortex-a15 has LPAE, and U-Boot's
# qemu_arm is built with CONFIG_ARMV7_LPAE), multiarch triplet; arm64 keeps the cache folders it always had.
case "$(board arch)" in
  # i6300esb: the PCI watchdog of MachineOptions.watchdog (Debian's armmp kernels have no driver for it)
  arm64) DEB_ARCH=arm64; KMETA=linux-image-arm64; TRIPLET=aarch64-linux-gnu; APT=$CACHE/apt; DEBDIR=$CACHE/debs; MODULES+=(i6300esb) ;;
  arm)   DEB_ARCH=armhf; KMETA=linux-image-armmp-lpae; TRIPLET=arm-linux-gnueabihf; APT=$CACHE/apt-armhf; DEBDIR=$CACHE/debs-armhf ;;
  *) die "board $BOARD: unknown arch '$(board arch)'" ;;
esac
mkdir -p "$APT/lists/partial" "$DEBDIR" "$CACHE/images"
# one build at a time per cache (test files or helpers running side by side share it)
exec 9> "$CACHE/build.lock"
flock 9
# serial logs of test runs (logDirFor in test/support/qemu) are kept two days
find "$CACHE/logs" -mindepth 1 -maxdepth 1 -mtime +2 -exec rm -rf {} + 2>/dev/null || true
[ -e "$APT/status" ] || : > "$APT/status"
cat > "$APT/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
APTOPTS=(-o APT::Architecture=$DEB_ARCH -o APT::Architectures=$DEB_ARCH
         -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/status"
         -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/none"
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1)
[ "$(id -u)" = 0 ] && APTOPTS+=(-o APT::Sandbox::User=root)

# --- 1. package lists: refreshed when older than a day -------------------------------------------
if [ "${OTA_QEMU_REFRESH:-0}" = 1 ] || [ -z "$(find "$APT/updated" -mmin -1440 2>/dev/null)" ]; then
  log "apt-get update (private $DEB_ARCH lists in $APT)"
  if ! apt-get "${APTOPTS[@]}" update -qq >&2; then
    # a mirror caught mid-sync fails one suite's index ("File has unexpected size"): go on with what apt
    # has, as long as bookworm main is there (the next update is tried after a day, or with OTA_QEMU_REFRESH=1)
    ls "$APT/lists/"*_dists_bookworm_main_binary-"$DEB_ARCH"_Packages* > /dev/null 2>&1 ||
      die "apt-get update of the $DEB_ARCH lists failed (is deb.debian.org reachable?)"
    log "WARNING: some $DEB_ARCH package lists failed to update (above); using the lists apt has"
  fi
  touch "$APT/updated"
fi

# --- 2. resolve and fetch .debs -----------------------------------------------------------------
KPKG=$(apt-cache "${APTOPTS[@]}" depends "$KMETA" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve $KMETA in the $DEB_ARCH lists"
KVERSION=$(apt-cache "${APTOPTS[@]}" policy "$KPKG" | awk '/Candidate:/{print $2; exit}')
# "name version" of every userspace package to unpack, from apt's own resolver (the kernel
# package alone: its dependencies are tools for a full Debian install that this image does not use)
mapfile -t SPECS < <(apt-get "${APTOPTS[@]}" -s install --no-install-recommends "${USERSPACE[@]}" |
  awk '/^Inst /{gsub(/[()]/, "", $3); print $2, $3}' | sort)
[ ${#SPECS[@]} -gt 0 ] && [ -n "$KVERSION" ] || die "apt could not resolve $KPKG ${USERSPACE[*]}"

deb_in() {  # DIR NAME VERSION -> path of that package's .deb for this architecture in DIR, or nothing
  ls "$1/${2}_${3//:/%3a}_"{"$DEB_ARCH",all}.deb 2>/dev/null | head -1 || true
}
cached_deb() { deb_in "$DEBDIR" "$@"; }
MISSING=()
for spec in "$KPKG $KVERSION" "${SPECS[@]}"; do
  name=${spec%% *} ver=${spec#* }
  [ -n "$(cached_deb "$name" "$ver")" ] && continue
  extra=$(deb_in "$BENCH_DEBS" "$name" "$ver")
  if [ -n "$extra" ]; then cp "$extra" "$DEBDIR/"; else MISSING+=("$name=$ver"); fi
done
if [ ${#MISSING[@]} -gt 0 ]; then
  log "apt-get download ${MISSING[*]}"
  (cd "$DEBDIR" && apt-get "${APTOPTS[@]}" download -qq "${MISSING[@]}" >&2) || die "apt-get download failed"
fi
KDEB=$(cached_deb "$KPKG" "$KVERSION")
DEBS=(); BBDEB=
for spec in "${SPECS[@]}"; do
  f=$(cached_deb "${spec%% *}" "${spec#* }")
  [ -n "$f" ] || die "${spec% *} was not downloaded"
  DEBS+=("$f"); [ "${spec%% *}" = busybox-static ] && BBDEB=$f
done
[ -n "$KDEB" ] && [ -n "$BBDEB" ] || die "kernel or busybox-static missing from the resolved set"

# --- 3. the agent (no fleet code), made from build/ as a device gets it: the bundle, or its .deb --------
WORK=$CACHE/work.$$
OUT=
trap 'rm -rf "$WORK" ${OUT:+"$OUT.tmp"}' EXIT
rm -rf "$WORK"; mkdir -p "$WORK"
[ -f "$REPO/build/agent/src/cli/index.js" ] || die "no build/ to bundle the agent from: run npm run build first"
if [ "$INIT" = systemd ]; then
  # the package a device gets (npm run build:deb), its bundle made from build/ too; SOURCE_DATE_EPOCH (above)
  # makes the same bytes for the same sources, so the .deb is what the image key below covers
  node "$REPO/scripts/build-deb.mjs" --no-tsc --out "$WORK/deb" > /dev/null || die "building the agent's .deb (scripts/build-deb.mjs) failed"
  BUNDLE=$(ls "$WORK"/deb/ota-agent_*_all.deb)
elif [ -n "${OTA_QEMU_AGENT_BUNDLE:-}" ]; then
  BUNDLE=$OTA_QEMU_AGENT_BUNDLE
else
  # SOURCE_DATE_EPOCH (above) makes the bundle, hence the image key, the same for the same sources
  node "$REPO/scripts/build-device.mjs" --no-tsc --out "$WORK/device" > /dev/null || die "bundling the agent (scripts/build-device.mjs) failed"
  BUNDLE=$WORK/device/ota-agent.mjs
fi
[ -f "$BUNDLE" ] || die "no agent bundle or package at $BUNDLE"

# --- 4. the key of this build: every input ------------------------------------------------------
KEY=$( { cat "$0" "$HERE/build-nor-modules.sh" "$REPO/bootloader/boot.cmd" "$REPO/bootloader/build.sh" "$BOARD_JSON" "$BUNDLE"
         find "$HERE/guest" "$REPO/agent/systemd" "$REPO/agent/init" -type f 2>/dev/null | sort | xargs cat
         echo "$INIT"; basename -a "$KDEB" "${DEBS[@]}"; } | sha256sum | cut -c1-16)
OUT=$CACHE/images/$VARIANT-$KEY
if [ -f "$OUT/layout.json" ]; then log "up to date ($OUT)"; echo "IMAGE_DIR=$OUT"; exit 0; fi
rm -rf "$OUT.tmp"; mkdir -p "$OUT.tmp"
RF=$WORK/rootfs
mkdir -p "$RF/boot"

# --- 5. the board's boot script (bootloader/build.sh) and settings -----------------------------------
OTA_BOOT_OUT=$WORK/bootloader bash "$REPO/bootloader/build.sh" > /dev/null || die "bootloader/build.sh failed"
cp "$WORK/bootloader/$BOARD/boot.scr" "$WORK/bootloader/$BOARD/boot.cmd" "$OUT.tmp/"
if [ "$INIT" = systemd ]; then
  # as `ota-fleet image build` writes it (fleet/src/image/boot.ts): the kernel starts the package's pre-init
  # on the read-only slot, which mounts the data partition and the /etc and /var overlays, then runs systemd
  sed -i "s|^setenv ota_bootargs '\(.*\)'\$|setenv ota_bootargs '\1 ro init=/usr/lib/ota-agent/ota-init'|" "$OUT.tmp/boot.cmd"
  grep -q "^setenv ota_bootargs '.* ro init=/usr/lib/ota-agent/ota-init'\$" "$OUT.tmp/boot.cmd" || die "board $BOARD: no ota_bootargs line to add init= to"
  mkimage -A "$(board arch)" -O linux -T script -C none -n "ota-agent A/B boot" -d "$OUT.tmp/boot.cmd" "$OUT.tmp/boot.scr" > /dev/null ||
    die "mkimage of the systemd slot's boot.scr failed"
fi
PLACEMENT=$(board env.placement)
case "$PLACEMENT" in
  file)   ENV_FILE=$(board script.ota_env_file); ENV_SIZE=$(board script.ota_env_size) ;;
  # U-Boot's own store (NOR flash on QEMU virt): the test gives QEMU the flash file; the first boot's
  # saveenv fills it (a blank flash means U-Boot's default env, which boots /boot.scr)
  native) ENV_FILE=; ENV_SIZE=$(board env.fwEnvConfig.0 | awk '{print $3}') ;;
  *) die "board $BOARD: unknown env placement '$PLACEMENT'" ;;
esac
BOOT_DEV=$(board bootPartition.device); BOOT_MOUNT=$(board bootPartition.mountPoint)

# --- 6. kernel and initramfs (in the slot's /boot: an update replaces the kernel too) -------------
log "kernel $(basename "$KDEB")"
dpkg -x "$KDEB" "$WORK/k"
KVER=$(ls "$WORK/k/lib/modules")
cp "$WORK/k/boot/vmlinuz-$KVER" "$RF/boot/vmlinuz"
MODDIR=$WORK/k/lib/modules/$KVER
if [ "$PLACEMENT" = native ]; then  # the guest reaches U-Boot's flash env through /dev/mtd0
  [ "$DEB_ARCH" = arm64 ] || die "board $BOARD: the guest's NOR flash modules are cross-built for arm64 only (build-nor-modules.sh)"
  NOR=$(bash "$HERE/build-nor-modules.sh" "$KVER" "$KVERSION" | sed -n 's/^NOR_MODULES=//p')
  [ -n "$NOR" ] || die "the NOR flash modules could not be built"
  mkdir -p "$MODDIR/extra"; cp "$NOR"/*.ko "$MODDIR/extra/"
  # mtdblock (Debian's own module): the agent writes a NOR env copy through /dev/mtdblockN (agent/src/bootenv/devices.ts)
  MODULES+=(cfi_util gen_probe cfi_probe cfi_cmdset_0001 physmap mtdblock)
fi
ko_of() { find "$MODDIR" -name "$1.ko" | head -1; }
deps_of() { tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | tr ',' ' '; }
declare -A SEEN=()
ORDER=()
add_module() {  # depth-first, dependencies first; built-in modules have no .ko and are skipped
  local m=${1//-/_} f d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  f=$(ko_of "$1"); [ -n "$f" ] || f=$(ko_of "$m")
  [ -n "$f" ] || { grep -q "/$1.ko\$" "$MODDIR/modules.builtin" || die "module $1 not found in $KVER"; return 0; }
  for d in $(deps_of "$f"); do add_module "$d"; done
  ORDER+=("$f")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
IR=$WORK/initramfs
mkdir -p "$IR/bin" "$IR/lib/modules" "$IR/etc"
dpkg-deb --fsys-tarfile "$BBDEB" | tar -xO ./bin/busybox > "$IR/bin/busybox"
chmod 755 "$IR/bin/busybox"
for f in "${ORDER[@]}"; do cp "$f" "$IR/lib/modules/"; basename "$f" .ko >> "$IR/lib/modules/load.order"; done
install -m 755 "$HERE/guest/initramfs-init" "$IR/init"
printf 'A %s\nB %s\nDATA /dev/vda4\n' "$(board slots.A.device)" "$(board slots.B.device)" > "$IR/etc/ota-slots"
find "$IR" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$IR" && find . | sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -n -6) > "$RF/boot/initrd.img"

# The agent from its Debian package, unpacked as dpkg does: through directory symlinks (a merged /usr's
# /lib -> usr/lib; this slot, made with dpkg -x, has real /lib and /bin), leaving existing folders as they are;
# then what its postinst does with no systemd running (deb-systemd-helper enable: the units' wants links).
install_agent_package() {
  local r=$1 u
  dpkg-deb --fsys-tarfile "$BUNDLE" | tar -x -C "$r" --keep-directory-symlink --no-overwrite-dir ||
    die "unpacking $(basename "$BUNDLE") into the slot failed"
  [ -x "$r/usr/lib/ota-agent/ota-init" ] || die "$(basename "$BUNDLE") has no executable /usr/lib/ota-agent/ota-init"
  mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
  for u in ota-agent.service ota-agent-health.service; do
    ln -sf "/lib/systemd/system/$u" "$r/etc/systemd/system/multi-user.target.wants/$u"
  done
}

# What a systemd slot needs that maintainer scripts would have done, and what keeps its boot short under
# TCG: users from base-passwd's masters and systemd's sysusers.d (the root stays read-only, so
# systemd-sysusers cannot add them at boot), an empty machine-id (systemd's first boot writes the id it
# makes into the /etc overlay, so onto the data partition), hostname, networkd for the virtio NIC, fstab
# (the boot partition, tmpfs /tmp and /var/tmp that the units' PrivateTmp needs: the pre-init mounts the
# data partition, /etc, /var and the agent's data directory), SSH host keys as plain files (no sshd runs:
# they are device state the update must keep), and masks for what cannot work without D-Bus or only costs
# time under TCG (gettys: guest/systemd/ota-test-console serves the console).
systemd_slot() {
  local r=$1 e=$1/etc g=$HERE/guest/systemd u
  # udev's hardware database sources (no hwdb.bin is built from them here) and packaging leftovers
  rm -rf "$r/lib/udev/hwdb.d" "$r/usr/lib/udev/hwdb.d" "$r/usr/share/bash-completion" "$r/usr/share/zsh" "$r/usr/share/info"
  cp "$r/usr/share/base-passwd/passwd.master" "$e/passwd"
  cp "$r/usr/share/base-passwd/group.master" "$e/group"
  awk -F: '{ print $1 ":*:19000:0:99999:7:::" }' "$e/passwd" > "$e/shadow"
  awk -F: '{ print $1 ":*::" }' "$e/group" > "$e/gshadow"
  chmod 640 "$e/shadow" "$e/gshadow"
  systemd-sysusers --root="$r" > /dev/null 2>&1 || die "systemd-sysusers --root could not add systemd's users"
  : > "$e/machine-id"
  echo ota-qemu > "$e/hostname"
  install -D -m 644 "$g/10-eth.network" "$e/systemd/network/10-eth.network"
  { cat "$g/fstab"; echo "$BOOT_DEV $BOOT_MOUNT vfat defaults,nofail 0 0"; } > "$e/fstab"
  mkdir -p "$r/var/lib/ota-agent" "$e/ota-agent" "$e/ssh" "$r/root"
  ln -sf /var/lib/ota-agent/agent.json "$e/ota-agent/agent.json"  # written by `ota-agent provision`
  for t in ed25519 ecdsa rsa; do
    ssh-keygen -q -t "$t" -N '' -C "root@ota-qemu" -f "$e/ssh/ssh_host_${t}_key" || die "ssh-keygen of the $t host key failed"
  done
  install -D -m 644 "$g/udev-trigger.conf" "$e/systemd/system/systemd-udev-trigger.service.d/devices.conf"
  install -D -m 755 "$g/ota-test-console" "$r/usr/lib/ota-test/ota-test-console"
  install -D -m 644 "$g/ota-test-console.service" "$r/lib/systemd/system/ota-test-console.service"
  ln -sf /lib/systemd/system/ota-test-console.service "$e/systemd/system/multi-user.target.wants/"
  mkdir -p "$e/systemd/system/sockets.target.wants" "$e/systemd/system/network-online.target.wants"
  ln -sf /lib/systemd/system/systemd-networkd.service "$e/systemd/system/multi-user.target.wants/"
  ln -sf /lib/systemd/system/systemd-networkd.socket "$e/systemd/system/sockets.target.wants/"
  ln -sf /lib/systemd/system/systemd-networkd-wait-online.service "$e/systemd/system/network-online.target.wants/"
  for u in getty.target systemd-firstboot.service systemd-logind.service systemd-update-utmp.service \
           systemd-update-utmp-runlevel.service systemd-random-seed.service ldconfig.service systemd-sysusers.service \
           systemd-hwdb-update.service systemd-journal-catalog-update.service systemd-update-done.service \
           systemd-pstore.service systemd-tmpfiles-clean.timer; do
    ln -sf /dev/null "$e/systemd/system/$u"
  done
}

# --- 7. slot root filesystem --------------------------------------------------------------------
log "root filesystem (${#DEBS[@]} packages)"
for f in "${DEBS[@]}"; do dpkg -x "$f" "$RF"; done
rm -rf "$RF/usr/share/doc" "$RF/usr/share/man" "$RF/usr/share/lintian" "$RF/usr/share/locale" \
       "$RF/usr/lib/$TRIPLET/gconv" "$RF/usr/share/gcc"
mkdir -p "$RF/proc" "$RF/sys" "$RF/dev" "$RF/run" "$RF/tmp" "$RF/data" "$RF/opt/ota" "$RF/etc/ota" "$RF/sbin" "$RF$BOOT_MOUNT"
if [ "$INIT" = systemd ]; then
  install_agent_package "$RF"
  systemd_slot "$RF"
else
  install -m 755 "$HERE/guest/slot-init" "$RF/sbin/init"
  install -m 755 "$HERE/guest/start.sh" "$RF/opt/ota/start.sh"
  install -m 644 "$BUNDLE" "$RF/opt/ota/ota-agent.mjs"
fi
echo 1 > "$RF/etc/ota/version"  # the release a fresh image is (a test's v2 changes it)
cp "$IR/etc/ota-slots" "$RF/etc/ota/slots"
echo "$BOOT_DEV $BOOT_MOUNT vfat" > "$RF/etc/ota/mounts"
grep -v '^#' "$WORK/bootloader/$BOARD/fw_env.config" > "$RF/etc/fw_env.config"
{ printf '%s\n' "${SPECS[@]}"; echo "$KPKG $KVERSION"; } > "$RF/etc/ota/packages"
find "$RF" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
UUID=6f2a0c1e-5b7d-4e21-9c3a-0d1e2f3a4b5c
# The booted slot read through /dev/vda2 (the delta base the agent hashes and copies from) must be the
# bytes on disk the release was made from, but the kernel changes metadata blocks in the block device's
# page cache even on a read-only mount: the journal superblock (jbd2 sets its 64bit feature on load) and
# the bitmaps of uninitialized block groups. So the read-only slot has no journal and no uninit groups.
mke2fs -q -F -t ext4 -O ^has_journal,^metadata_csum,^uninit_bg -b 4096 -m 0 -N 2048 -L rootfs -U "$UUID" \
  -E "hash_seed=$UUID,root_owner=0:0" -d "$RF" "$WORK/rootfs.img" "${SLOT_MIB}M" > /dev/null ||
  die "mke2fs of the slot failed (the root filesystem may not fit in $SLOT_MIB MiB: $(du -sh "$RF" | cut -f1))"
mke2fs -q -F -t ext4 -b 4096 -m 0 -L "$DATA_LABEL" -E root_owner=0:0 "$WORK/data.img" "${DATA_MIB}M" > /dev/null

# --- 8. boot partition: the board's boot script and the env file ------------------------------------
mkfs.vfat -C -n BOOT "$WORK/boot.fat" $((BOOT_MIB * 1024)) > /dev/null
mcopy -i "$WORK/boot.fat" "$OUT.tmp/boot.scr" ::
if [ -n "$ENV_FILE" ]; then
  printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > "$WORK/env.txt"
  mkenvimage -s "$ENV_SIZE" -o "$OUT.tmp/$ENV_FILE" "$WORK/env.txt"
  mcopy -i "$WORK/boot.fat" "$OUT.tmp/$ENV_FILE" ::
fi

# --- 9. the disk ----------------------------------------------------------------------------------
MIB=1048576
P1=1; P2=$((P1 + BOOT_MIB)); P3=$((P2 + SLOT_MIB)); P4=$((P3 + SLOT_MIB)); END=$((P4 + DATA_MIB))
truncate -s "$((END * MIB))" "$OUT.tmp/disk.img"
printf 'label: dos\nlabel-id: 0x0da7ab1e\n%s\n%s\n%s\n%s\n' \
  "start=${P1}MiB, size=${BOOT_MIB}MiB, type=c, bootable" "start=${P2}MiB, size=${SLOT_MIB}MiB, type=83" \
  "start=${P3}MiB, size=${SLOT_MIB}MiB, type=83" "start=${P4}MiB, size=${DATA_MIB}MiB, type=83" |
  sfdisk -q "$OUT.tmp/disk.img" > /dev/null
put() { dd if="$1" of="$OUT.tmp/disk.img" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$WORK/boot.fat" $P1; put "$WORK/rootfs.img" $P2; put "$WORK/rootfs.img" $P3; put "$WORK/data.img" $P4
part() { printf '"%s": { "offsetBytes": %d, "sizeBytes": %d, "device": "%s" }' "$1" $(($2 * MIB)) $(($3 * MIB)) "$4"; }
FREE=$(dumpe2fs -h "$WORK/rootfs.img" 2>/dev/null | awk -F: '/^Free blocks/{print $2 * 4096}')
printf '{\n  "kernelVersion": "%s",\n  "kernelPackage": "%s",\n  "diskSizeBytes": %d,\n  "slotFreeBytes": %d,\n' \
  "$KVER" "$(basename "$KDEB")" $((END * MIB)) "$FREE" > "$OUT.tmp/layout.json"
printf '  "board": "%s",\n  "init": "%s",\n' "$BOARD" "$INIT" >> "$OUT.tmp/layout.json"
printf '  "env": { "placement": "%s", "file": "%s", "sizeBytes": %d },\n  "partitions": {\n    %s,\n    %s,\n    %s,\n    %s\n  }\n}\n' \
  "$PLACEMENT" "$ENV_FILE" $((ENV_SIZE)) "$(part boot $P1 $BOOT_MIB /dev/vda1)" "$(part A $P2 $SLOT_MIB /dev/vda2)" \
  "$(part B $P3 $SLOT_MIB /dev/vda3)" "$(part data $P4 $DATA_MIB /dev/vda4)" >> "$OUT.tmp/layout.json"
mv "$OUT.tmp" "$OUT"
# drop builds of older inputs (after an hour: a test running beside this build may still copy one)
find "$CACHE/images" -mindepth 1 -maxdepth 1 -name "$VARIANT-????????????????" ! -name "$VARIANT-$KEY" -mmin +60 -exec rm -rf {} +
log "built $OUT"
echo "IMAGE_DIR=$OUT"
