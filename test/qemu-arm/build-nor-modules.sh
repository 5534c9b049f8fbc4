#!/usr/bin/env bash
# build-nor-modules.sh — the NOR flash drivers Debian's arm64 kernel lacks (CONFIG_MTD_CFI and
# CONFIG_MTD_PHYSMAP_OF are off), built out of tree so that the guest sees QEMU virt's pflash
# banks as /dev/mtd0 and the agent can reach U-Boot's env there.
#
# Usage:  build-nor-modules.sh KERNEL_RELEASE PACKAGE_VERSION   e.g. 6.1.0-56-arm64 6.1.192-2
#         prints NOR_MODULES=<dir> (cfi_util, cfi_cmdset_0001, gen_probe, cfi_probe, physmap .ko)
# Needs:  aarch64-linux-gnu-gcc-12 (gcc-aarch64-linux-gnu), make, xz; Debian's archive through apt
#         (linux-source, linux-headers of that exact kernel, the host's linux-kbuild). Built once per
#         kernel version into the cache; about 140 MB to download and 15 s the first time.
set -euo pipefail
export LC_ALL=C
KREL=$1 KVERSION=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${OTA_QEMU_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/qemu-arm}
OUT=$CACHE/nor-modules/$KREL-$KVERSION
log() { echo "build-nor-modules: $*" >&2; }
die() { echo "build-nor-modules: ERROR: $*" >&2; exit 1; }
if [ -f "$OUT/physmap.ko" ]; then echo "NOR_MODULES=$OUT"; exit 0; fi
command -v aarch64-linux-gnu-gcc-12 > /dev/null || die "aarch64-linux-gnu-gcc-12 missing: apt-get install gcc-aarch64-linux-gnu"
SERIES=${KREL%%.0-*}                      # 6.1
ABI=${KREL%-arm64}                        # 6.1.0-56
HOST=$(dpkg --print-architecture)

WORK=$CACHE/nor-work.$$
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debs" "$WORK/root" "$CACHE/apt-host/lists/partial"
: > "$WORK/status"
aptopts() {  # ARCH LISTS
  echo -o "APT::Architecture=$1" -o "APT::Architectures=$1" -o "Dir::State::Lists=$2" -o "Dir::State::status=$WORK/status" \
    -o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o "Dir::Etc::SourceParts=$WORK/none" \
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1
  [ "$(id -u)" = 0 ] && echo -o APT::Sandbox::User=root
}
# shellcheck disable=SC2046 # options are plain words
{
  apt-get $(aptopts "$HOST" "$CACHE/apt-host/lists") update -qq >&2 || die "apt-get update ($HOST lists) failed"
  cd "$WORK/debs"
  log "apt-get download linux-source-$SERIES linux-headers-$KREL linux-headers-$ABI-common linux-kbuild-$SERIES:$HOST ($KVERSION)"
  apt-get $(aptopts arm64 "$CACHE/apt/lists") download -qq "linux-source-$SERIES=$KVERSION" "linux-headers-$KREL=$KVERSION" \
    "linux-headers-$ABI-common=$KVERSION" >&2 || die "apt-get download of the arm64 kernel sources failed"
  apt-get $(aptopts "$HOST" "$CACHE/apt-host/lists") download -qq "linux-kbuild-$SERIES=$KVERSION" >&2 ||
    die "apt-get download linux-kbuild-$SERIES=$KVERSION ($HOST) failed"
}
for f in linux-headers-*.deb linux-kbuild-*.deb; do dpkg -x "$f" "$WORK/root"; done
HEADERS=$WORK/root/usr/src/linux-headers-$KREL
# its Makefile includes the common headers by absolute path: point it at the private copy
sed -i "s|^include /usr/src/|include $WORK/root/usr/src/|" "$HEADERS/Makefile"
log "extracting drivers/mtd from linux-source-$SERIES"
dpkg-deb --fsys-tarfile linux-source-"$SERIES"_*.deb | tar -xO "./usr/src/linux-source-$SERIES.tar.xz" | xz -dc |
  tar -x -C "$WORK" --wildcards "linux-source-$SERIES/drivers/mtd/chips/*" "linux-source-$SERIES/drivers/mtd/maps/physmap*"
SRC=$WORK/linux-source-$SERIES/drivers/mtd
mkdir -p "$WORK/mod"
cp "$SRC"/chips/{cfi_util.c,cfi_cmdset_0001.c,gen_probe.c,cfi_probe.c,fwh_lock.h} "$SRC"/maps/physmap*.[ch] "$WORK/mod/"
cat > "$WORK/mod/Kbuild" <<'EOF'
obj-m := cfi_util.o cfi_cmdset_0001.o gen_probe.o cfi_probe.o physmap.o
physmap-objs := physmap-core.o
ccflags-y := -DCONFIG_MTD_CFI=1 -DCONFIG_MTD_GEN_PROBE=1 -DCONFIG_MTD_CFI_INTELEXT=1 -DCONFIG_MTD_PHYSMAP_OF=1
EOF
log "make modules"
make -s -C "$HEADERS" M="$WORK/mod" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules 2>&1 | grep -v 'Skipping BTF' >&2 || true
for m in cfi_util cfi_cmdset_0001 gen_probe cfi_probe physmap; do [ -f "$WORK/mod/$m.ko" ] || die "$m.ko was not built"; done
mkdir -p "$OUT.tmp"; cp "$WORK"/mod/*.ko "$OUT.tmp/"; rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
echo "NOR_MODULES=$OUT"
