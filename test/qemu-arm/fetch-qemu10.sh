#!/usr/bin/env bash
# fetch-qemu10.sh — QEMU 10 from Debian's bookworm-backports, unpacked into a private folder
# (no root, nothing installed). Debian 12's QEMU 7.2 corrupts U-Boot's saveenv to pflash
# (QEMU issue #2343); QEMU 10 does not, so the NOR flash env placement needs this one.
#
# Usage:  test/qemu-arm/fetch-qemu10.sh     (prints QEMU_ROOT=<dir> as its last line)
#         run <dir>/usr/bin/qemu-system-aarch64 with -L <dir>/usr/share/qemu, -display none
#         -audio none and QEMU_MODULE_DIR=<dir>/usr/lib/<triplet>/qemu, so that it never loads a
#         module of the system's QEMU build.
# Env:    OTA_QEMU_CACHE (default <repo>/.cache/qemu-arm)
# Network: Debian's package archive only, through apt, on the first run.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${OTA_QEMU_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/qemu-arm}
DIR=$CACHE/qemu10
ARCH=$(dpkg --print-architecture)
PKGS=(qemu-system-arm qemu-system-common qemu-system-data)
die() { echo "fetch-qemu10: ERROR: $*" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9> "$CACHE/qemu10.lock"   # one fetch at a time per cache
flock 9
if [ -x "$DIR/root/usr/bin/qemu-system-aarch64" ]; then echo "QEMU_ROOT=$DIR/root"; exit 0; fi
mkdir -p "$DIR/lists/partial" "$DIR/debs"
: > "$DIR/status"
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main' > "$DIR/sources.list"
APTOPTS=(-o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH" -o "Dir::State::Lists=$DIR/lists"
         -o "Dir::State::status=$DIR/status" -o "Dir::Etc::SourceList=$DIR/sources.list"
         -o "Dir::Etc::SourceParts=$DIR/none" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
         -o Debug::NoLocking=1)
[ "$(id -u)" = 0 ] && APTOPTS+=(-o APT::Sandbox::User=root)
apt-get "${APTOPTS[@]}" update -qq >&2 || die "apt-get update of bookworm-backports failed"
VERSION=$(apt-cache "${APTOPTS[@]}" policy qemu-system-arm | awk '/Candidate:/{print $2; exit}')
case "$VERSION" in 1:1[0-9].*) ;; *) die "bookworm-backports offers qemu-system-arm '$VERSION', not a QEMU >= 10" ;; esac
(cd "$DIR/debs" && apt-get "${APTOPTS[@]}" download -qq "${PKGS[@]/%/=$VERSION}" >&2) || die "apt-get download failed"
rm -rf "$DIR/root.tmp"
for f in "$DIR"/debs/*.deb; do dpkg -x "$f" "$DIR/root.tmp"; done
# the libraries it links must all be on this system already (it is built for bookworm)
missing=$(ldd "$DIR/root.tmp/usr/bin/qemu-system-aarch64" | awk '/not found/{print $1}' | tr '\n' ' ')
[ -z "$missing" ] || die "QEMU $VERSION needs libraries this system lacks: $missing"
rm -rf "$DIR/root"; mv "$DIR/root.tmp" "$DIR/root"
echo "fetch-qemu10: QEMU $VERSION in $DIR/root" >&2
echo "QEMU_ROOT=$DIR/root"
