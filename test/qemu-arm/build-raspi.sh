#!/usr/bin/env bash
# build-raspi.sh — the root filesystem test/qemu-arm/raspi.test.ts gives to `ota-fleet image build --board rpi-3`.
#
# Usage:  test/qemu-arm/build-raspi.sh OUT_DIR     (OUT_DIR must not exist; prints ROOTFS_DIR=<dir> last)
# Output: OUT_DIR/rootfs  a busybox slot as build-image.sh makes one (guest/slot-init as /sbin/init, busybox
#                         applets linked), with Debian's arm64 kernel in /boot (vmlinuz is the kernel's
#                         uncompressed Image), a test initramfs (guest/initramfs-init) that loads the SD card
#                         drivers of the Pi 3 (sdhci-iproc, bcm2835) and the bcm2835 watchdog (reboot), and
#                         unpacked as Debian installs them: raspi-firmware (/usr/lib/raspi-firmware), u-boot-rpi
#                         (/usr/lib/u-boot/rpi_3, ...) and the kernel's device trees (/usr/lib/linux-image-*/broadcom),
#                         which is where `image build` takes the boot partition's files from.
#         OUT_DIR/u-boot.bin, OUT_DIR/bcm2837-rpi-3-b.dtb   what QEMU's raspi3b is given with -kernel and -dtb
#                         (QEMU loads them itself: it does not run the GPU firmware, see raspi.test.ts)
# Env:    OTA_QEMU_CACHE  cache folder (default <repo>/.cache/qemu-arm); the arm64 lists with the
#                         non-free-firmware component (raspi-firmware) are kept apart in apt-raspi/.
# No root, no mounts; Debian's archive through apt only.
set -euo pipefail
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${OTA_QEMU_CACHE:-$REPO/.cache/qemu-arm}
OUT=${1:?usage: build-raspi.sh OUT_DIR}
APT=$CACHE/apt-raspi; DEBDIR=$CACHE/debs
PACKAGES=(busybox-static raspi-firmware u-boot-rpi)
# SD card (QEMU wires the card to sdhci or sdhost by the pins' function: both drivers), ext4 for the
# slots, vfat for the boot partition, overlay for the image's pre-init, the watchdog for reboot and reset
MODULES=(sdhci-iproc bcm2835 crc32c_generic ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 overlay bcm2835_wdt)

log() { echo "build-raspi: $*" >&2; }
die() { echo "build-raspi: ERROR: $*" >&2; exit 1; }
[ ! -e "$OUT" ] || die "$OUT exists"
mkdir -p "$APT/lists/partial" "$DEBDIR"
exec 9> "$CACHE/build.lock"
flock 9
[ -e "$APT/status" ] || : > "$APT/status"
cat > "$APT/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main non-free-firmware
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
APTOPTS=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
         -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/status"
         -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/none"
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1)
[ "$(id -u)" = 0 ] && APTOPTS+=(-o APT::Sandbox::User=root)
if [ -z "$(find "$APT/updated" -mmin -1440 2>/dev/null)" ]; then
  log "apt-get update (private arm64 lists in $APT)"
  apt-get "${APTOPTS[@]}" update -qq >&2 || die "apt-get update of the arm64 lists failed (is deb.debian.org reachable?)"
  touch "$APT/updated"
fi
KPKG=$(apt-cache "${APTOPTS[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot resolve linux-image-arm64"
debs=()
for p in "$KPKG" "${PACKAGES[@]}"; do
  v=$(apt-cache "${APTOPTS[@]}" policy "$p" | awk '/Candidate:/{print $2; exit}')
  [ -n "$v" ] && [ "$v" != "(none)" ] || die "no candidate for $p"
  f=$(ls "$DEBDIR/${p}_${v//:/%3a}_"{arm64,all}.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    log "apt-get download $p=$v"
    (cd "$DEBDIR" && apt-get "${APTOPTS[@]}" download -qq "$p=$v" >&2) || die "apt-get download $p failed"
    f=$(ls "$DEBDIR/${p}_${v//:/%3a}_"{arm64,all}.deb 2>/dev/null | head -1 || true)
    [ -n "$f" ] || die "apt-get download $p left no .deb"
  fi
  debs+=("$f")
done

mkdir -p "$OUT"
RF=$OUT/rootfs; K=$OUT/kernel; IR=$OUT/initramfs
mkdir -p "$RF/boot" "$RF/bin" "$RF/sbin" "$RF/etc/ota" "$RF/proc" "$RF/sys" "$RF/dev" "$RF/tmp" "$RF/run" "$RF/data" "$RF/var"
dpkg -x "${debs[0]}" "$K"
KVER=$(ls "$K/lib/modules")
cp "$K/boot/vmlinuz-$KVER" "$RF/boot/vmlinuz-$KVER"   # Debian's arm64 vmlinuz is the plain Image that booti takes
ln -s "vmlinuz-$KVER" "$RF/boot/vmlinuz"
mkdir -p "$RF/usr/lib/linux-image-$KVER"
cp -R "$K/usr/lib/linux-image-$KVER/broadcom" "$RF/usr/lib/linux-image-$KVER/"
for d in "${debs[@]:1}"; do dpkg -x "$d" "$RF"; done
rm -rf "$RF/lib/firmware" "$RF/usr/share/doc"   # the Wi-Fi firmware and docs: not needed to boot, smaller slot
cp "$RF/usr/lib/u-boot/rpi_3/u-boot.bin" "$OUT/u-boot.bin"
cp "$RF/usr/lib/linux-image-$KVER/broadcom/bcm2837-rpi-3-b.dtb" "$OUT/"

# the slot: busybox's applets, the test slot init
for a in sh mount umount grep mkdir cat chmod findfs awk sleep reboot poweroff; do
  ln -sf busybox "$RF/bin/$a"
done
install -m 755 "$HERE/guest/slot-init" "$RF/sbin/init"
: > "$RF/etc/ota/mounts"
printf 'A /dev/mmcblk0p2\nB /dev/mmcblk0p3\n' > "$RF/etc/ota/slots"

# the initramfs: busybox, the modules in dependency order, guest/initramfs-init
MODDIR=$K/lib/modules/$KVER
declare -A SEEN=(); ORDER=()
ko_of() { find "$MODDIR/kernel/$2" -name "$1.ko" | head -1; }
add_module() {  # dependencies first; built-in ones have no .ko
  local m=${1//-/_} f d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  f=$(ko_of "$1" ""); [ -n "$f" ] || f=$(ko_of "$m" "")
  [ "$m" = bcm2835 ] && f=$(ko_of bcm2835 drivers/mmc)
  [ -n "$f" ] || { grep -q "/$1.ko\$" "$MODDIR/modules.builtin" || die "module $1 not found in $KVER"; return 0; }
  for d in $(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$d"; done
  ORDER+=("$f")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
mkdir -p "$IR/bin" "$IR/lib/modules" "$IR/etc"
cp "$RF/bin/busybox" "$IR/bin/busybox"
for f in "${ORDER[@]}"; do cp "$f" "$IR/lib/modules/"; basename "$f" .ko >> "$IR/lib/modules/load.order"; done
install -m 755 "$HERE/guest/initramfs-init" "$IR/init"
printf 'A /dev/mmcblk0p2\nB /dev/mmcblk0p3\n' > "$IR/etc/ota-slots"
find "$IR" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$IR" && find . | sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -n -6) > "$RF/boot/initrd.img"
rm -rf "$K" "$IR"
log "rootfs of $(du -sm "$RF" | cut -f1) MiB, kernel $KVER"
echo "ROOTFS_DIR=$RF"
