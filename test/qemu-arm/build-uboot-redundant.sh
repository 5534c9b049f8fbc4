#!/usr/bin/env bash
# build-uboot-redundant.sh — Debian's own U-Boot source (bookworm's u-boot), built for QEMU virt
# arm64 (qemu_arm64_defconfig) with one change: a redundant env in NOR flash. Debian's u-boot-qemu
# keeps a single env copy; this build adds the second copy in the next 256 KiB sector of the second
# pflash bank, so that the test of scenario 5 can damage the newer of two copies (see
# board-configs/qemu-virt-arm64-redundant.json).
#
# Usage:  test/qemu-arm/build-uboot-redundant.sh    (prints UBOOT_BIN=<path> as its last line)
# Config: CONFIG_SYS_REDUNDAND_ENVIRONMENT=y, CONFIG_ENV_ADDR=0x4000000, CONFIG_ENV_ADDR_REDUND=0x4040000,
#         CONFIG_ENV_SIZE=CONFIG_ENV_SECT_SIZE=0x40000; nothing else changed, no patch applied. (The host
#         tools the build makes need libssl-dev even with CONFIG_TOOLS_LIBCRYPTO off: kwbimage in 2023.01.)
# Needs:  gcc-aarch64-linux-gnu, make, bison, flex, bc, libssl-dev, dpkg-dev (dpkg-source); Debian's archive
#         through apt (deb-src, about 16 MB) on the first run. Built once per source version and
#         config into the cache (OTA_QEMU_CACHE, default <repo>/.cache/qemu-arm).
set -euo pipefail
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${OTA_QEMU_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/qemu-arm}
DIR=$CACHE/uboot-redundant
log() { echo "build-uboot-redundant: $*" >&2; }
die() { echo "build-uboot-redundant: ERROR: $*" >&2; exit 1; }
# the config lines the build adds to qemu_arm64_defconfig; part of the cache key
EXTRA_CONFIG='CONFIG_SYS_REDUNDAND_ENVIRONMENT=y
CONFIG_ENV_ADDR=0x4000000
CONFIG_ENV_ADDR_REDUND=0x4040000
CONFIG_ENV_SIZE=0x40000
CONFIG_ENV_SECT_SIZE=0x40000'

mkdir -p "$DIR/lists/partial"
exec 9> "$DIR/build.lock"   # one build at a time per cache
flock 9
: > "$DIR/status"
cat > "$DIR/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
APTOPTS=(-o "Dir::State::Lists=$DIR/lists" -o "Dir::State::status=$DIR/status"
         -o "Dir::Etc::SourceList=$DIR/sources.list" -o "Dir::Etc::SourceParts=$DIR/none"
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1)
[ "$(id -u)" = 0 ] && APTOPTS+=(-o APT::Sandbox::User=root)
# the lists are refreshed once a day: the source version is part of the key
if [ -z "$(find "$DIR/lists" -maxdepth 1 -name '*Sources*' -mtime -1 2>/dev/null | head -1)" ]; then
  apt-get "${APTOPTS[@]}" update -qq >&2 || die "apt-get update (deb-src lists) failed"
fi
VERSION=$(apt-cache "${APTOPTS[@]}" showsrc u-boot | awk '/^Version:/{print $2}' | sort -V | tail -1)
[ -n "$VERSION" ] || die "no source version of u-boot in the deb-src lists"
KEY=$(printf '%s\n%s\n%s\n' "$VERSION" "$EXTRA_CONFIG" "$(aarch64-linux-gnu-gcc-12 -dumpfullversion)" | sha256sum | cut -c1-16)
OUT=$DIR/$KEY
if [ -f "$OUT/u-boot.bin" ]; then echo "UBOOT_BIN=$OUT/u-boot.bin"; exit 0; fi
for tool in aarch64-linux-gnu-gcc-12 make bison flex bc dpkg-source; do
  command -v "$tool" > /dev/null || die "$tool missing (packages: gcc-aarch64-linux-gnu make bison flex bc libssl-dev dpkg-dev)"
done

[ -f /usr/include/openssl/evp.h ] || die "libssl-dev missing (the host tools the build makes link libcrypto)"
started=$(date +%s)
mkdir -p "$DIR/src"
if ! ls "$DIR/src"/u-boot_"${VERSION#*:}".dsc > /dev/null 2>&1; then
  log "apt-get source --download-only u-boot=$VERSION"
  (cd "$DIR/src" && apt-get "${APTOPTS[@]}" source --download-only -qq "u-boot=$VERSION" >&2) || die "apt-get source u-boot=$VERSION failed"
fi
WORK=$DIR/work.$$
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
dpkg-source --no-check -x "$DIR/src/u-boot_${VERSION#*:}.dsc" "$WORK/src" > /dev/null || die "dpkg-source -x failed"
# the cross compiler is installed as aarch64-linux-gnu-gcc-12; give the build the names it expects
mkdir -p "$WORK/bin"
for t in gcc cpp ld as ar nm objcopy objdump strip readelf; do
  real=$(command -v "aarch64-linux-gnu-$t-12" || command -v "aarch64-linux-gnu-$t" || true)
  [ -n "$real" ] && ln -sf "$real" "$WORK/bin/aarch64-linux-gnu-$t"
done
export PATH=$WORK/bin:$PATH
cd "$WORK/src"
make -s qemu_arm64_defconfig >&2
printf '%s\n' "$EXTRA_CONFIG" >> .config
make -s olddefconfig >&2
while read -r line; do grep -qxF "$line" .config || die ".config lacks '$line' after olddefconfig"; done <<< "$EXTRA_CONFIG"
log "make u-boot.bin ($VERSION)"
make -s -j2 CROSS_COMPILE=aarch64-linux-gnu- u-boot.bin >&2 || die "make u-boot.bin failed"
mkdir -p "$OUT.tmp"; cp u-boot.bin .config "$OUT.tmp/"; rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
log "built U-Boot $VERSION with a redundant flash env in $(( $(date +%s) - started )) s"
echo "UBOOT_BIN=$OUT/u-boot.bin"
