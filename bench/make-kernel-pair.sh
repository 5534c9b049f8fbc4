#!/usr/bin/env bash
# make-kernel-pair.sh: build the reproducible `kernel-abi` pair (A = before, B = after) of arm64
# ext4 root filesystem images (384 MiB) from real Debian bookworm packages: the kernel security
# update that bumps the ABI (linux-image-6.1.0-50-cloud-arm64 6.1.176-1 from bookworm ->
# linux-image-6.1.0-57-cloud-arm64 6.1.192-3 from bookworm-security: every path under
# /lib/modules/ and /boot changes name), with the other security updates of the day (nodejs and
# libnode108, openssl and libssl3, perl-base, tzdata, ca-certificates), on the base of the
# `security-fix` pair of ../shared/bench/make-pair.sh.
#
# Usage:  OUT=DIR bench/make-kernel-pair.sh      images go to $OUT/kernel-abi/{A,B}.img with pair.json
# Env:    SOURCE_DATE_EPOCH  fixed time for dirs, ctimes, atimes, superblock (default 1700000000)
#         CACHE=DIR          private arm64 apt lists and downloaded .debs (default $OUT/kernel-abi/.cache)
#         VERIFY=1           build each image twice and compare (reproducibility check)
#         KEEP_ROOT=1        keep the unpacked roots
#
# The .debs are fetched once with `apt-get download` (private arm64 lists for bookworm and
# bookworm-security, the host's Debian archive keyring) and checked against the sha256 pinned in
# kernel-pair.SHA256SUMS beside this script, so a rebuild uses the same bytes or stops.
# As make-pair.sh: no mounts, no chroot: `dpkg -x`, a synthesised dpkg status database, `mke2fs -d`,
# then every inode's ctime and atime pinned with debugfs. Maintainer scripts are not run (no
# initramfs, no depmod: the modules.* indexes are the ones the .deb ships). Run as root so file
# owners are kept.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/bench-data}
PAIR=kernel-abi
D=$OUT/$PAIR
CACHE=${CACHE:-$D/.cache}
SUMS=$HERE/kernel-pair.SHA256SUMS
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export LC_ALL=C TZ=UTC
SIZE=384M
UUID=6f2a0c1e-5b7d-4e21-9c3a-0d1e2f3a4b5c   # as make-pair.sh: A and B share UUID and hash seed

# Pins (name=version), as deb.debian.org serves them for bookworm (12.x) and bookworm-security.
# COMMON: security-fix's base, identical in A and B.
COMMON=(
  base-files=12.4+deb12u15 busybox-static=1:1.35.0-4+deb12u1+b1 debconf=1.5.82
  gcc-12-base=12.2.0-14+deb12u1 libgcc-s1=12.2.0-14+deb12u1 libc6=2.36-9+deb12u14
  libstdc++6=12.2.0-14+deb12u1 zlib1g=1:1.2.13.dfsg-1 libbrotli1=1.0.9-2+deb12u1
  libc-ares2=1.18.1-3 libicu72=72.1-3+deb12u1 libnghttp2-14=1.52.0-1+deb12u3
  libuv1=1.44.2-1+deb12u1 node-xtend=4.0.2-3 node-acorn=8.8.1+ds+~cs25.17.7-2
  node-cjs-module-lexer=1.2.2+dfsg-5 node-busboy=1.6.0+~cs2.6.0-2
  node-undici=5.15.0+dfsg1+~cs20.10.9.3-1+deb12u4
)
# A: bookworm; B: bookworm-security.
SET_A=("${COMMON[@]}"
  linux-image-6.1.0-50-cloud-arm64=6.1.176-1
  openssl=3.0.20-1~deb12u2 libssl3=3.0.20-1~deb12u2
  nodejs=18.20.4+dfsg-1~deb12u2 libnode108=18.20.4+dfsg-1~deb12u2
  perl-base=5.36.0-7+deb12u3 tzdata=2026b-0+deb12u1 ca-certificates=20230311+deb12u1)
SET_B=("${COMMON[@]}"
  linux-image-6.1.0-57-cloud-arm64=6.1.192-3
  openssl=3.0.22-1~deb12u2 libssl3=3.0.22-1~deb12u2
  nodejs=18.20.4+dfsg-1~deb12u3 libnode108=18.20.4+dfsg-1~deb12u3
  perl-base=5.36.0-7+deb12u4 tzdata=2026f-0+deb12u1 ca-certificates=20250419~deb12u2)

APTOPTS=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
  -o "Dir::Etc::SourceList=$CACHE/sources.list" -o "Dir::Etc::SourceParts=$CACHE/sources.list.d"
  -o "Dir::State::Lists=$CACHE/lists" -o "Dir::State::status=$CACHE/empty-status"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

prepare_apt() {
  mkdir -p "$CACHE/lists/partial" "$CACHE/sources.list.d" "$CACHE/debs"
  : > "$CACHE/empty-status"
  local k=/usr/share/keyrings/debian-archive-keyring.gpg
  printf '%s\n' \
    "deb [arch=arm64 signed-by=$k] http://deb.debian.org/debian bookworm main" \
    "deb [arch=arm64 signed-by=$k] http://deb.debian.org/debian-security bookworm-security main" \
    > "$CACHE/sources.list"
  [ -e "$CACHE/lists/.updated" ] || { apt-get "${APTOPTS[@]}" update -qq && touch "$CACHE/lists/.updated"; }
}

# deb_path NAME=VERSION -> the .deb in $CACHE/debs (downloaded once), checked against $SUMS
deb_path() {
  local name=${1%%=*} ver=${1#*=} f
  f=$(ls "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    (cd "$CACHE/debs" && apt-get "${APTOPTS[@]}" download -qq "$1" >&2)
    f=$(ls "$CACHE/debs/${name}_${ver//:/%3a}_"*.deb | head -1)
  fi
  grep -q " $(basename "$f")\$" "$SUMS" || { echo "ERROR: $(basename "$f") has no pinned sha256 in $SUMS" >&2; exit 1; }
  (cd "$CACHE/debs" && grep " $(basename "$f")\$" "$SUMS" | sha256sum -c --quiet -) >&2 ||
    { echo "ERROR: sha256 mismatch for $f: delete it and run again" >&2; exit 1; }
  echo "$f"
}

suite_of() {   # the suite(s) serving NAME=VERSION, for pair.json
  apt-cache "${APTOPTS[@]}" madison "${1%%=*}" 2>/dev/null |
    awk -F'|' -v v="${1#*=}" '{gsub(/ /,"",$2)} $2==v {split($3,a," "); printf "%s%s", sep, a[2]; sep=","}'
}

# build_root DIR MANIFEST NAME=VERSION...: dpkg -x each package, synthesise the dpkg database, pin times
build_root() {
  local dir=$1 manifest=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir/var/lib/dpkg/info"; : > "$manifest"
  local status=$dir/var/lib/dpkg/status; : > "$status"
  local spec f name arch ma key
  for spec in $(printf '%s\n' "$@" | sort); do
    f=$(deb_path "$spec")
    dpkg -x "$f" "$dir"
    name=$(dpkg-deb -f "$f" Package); arch=$(dpkg-deb -f "$f" Architecture)
    ma=$(dpkg-deb -f "$f" Multi-Arch 2>/dev/null || true)
    key=$name; [ "$ma" = same ] && key="$name:$arch"
    dpkg-deb -f "$f" | awk 'NR==1{print; print "Status: install ok installed"; next} {print}' >> "$status"
    echo >> "$status"
    dpkg-deb --ctrl-tarfile "$f" | tar -xO ./md5sums > "$dir/var/lib/dpkg/info/$key.md5sums" 2>/dev/null || rm -f "$dir/var/lib/dpkg/info/$key.md5sums"
    dpkg-deb --fsys-tarfile "$f" | tar -t | sed -e 's#^\./$#/.#' -e 's#^\.##' -e 's#/$##' > "$dir/var/lib/dpkg/info/$key.list"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "${spec#*=}" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)" "$(suite_of "$spec")" >> "$manifest"
  done
  find "$dir/var/lib/dpkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  find "$dir" -type d -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# make_image DIR IMG: mke2fs -d, then every inode's ctime and atime pinned with debugfs
make_image() {
  local dir=$1 img=$2 cmds
  rm -f "$img"
  mke2fs -q -F -t ext4 -b 4096 -L rootfs -U "$UUID" \
    -E "hash_seed=$UUID,root_owner=0:0,lazy_itable_init=0" -d "$dir" "$img" "$SIZE"
  if (cd "$dir" && find . -mindepth 1) | grep -q '["\\]'; then
    echo "ERROR: a path holds a double quote or a backslash: debugfs quoting would break" >&2; exit 1; fi
  cmds=$(mktemp)
  (cd "$dir" && find . -mindepth 1) | sed -e 's#^\.##' |
    awk -v t="@$SOURCE_DATE_EPOCH" '{printf "sif \"%s\" ctime %s\nsif \"%s\" atime %s\n", $0, t, $0, t}' > "$cmds"
  debugfs -w -f "$cmds" "$img" > /dev/null 2> "$cmds.err" || { cat "$cmds.err" >&2; exit 1; }
  if grep -v '^debugfs [0-9]' "$cmds.err" | grep -q .; then cat "$cmds.err" >&2; exit 1; fi
  rm -f "$cmds" "$cmds.err"
  e2fsck -fn "$img" > /dev/null || { echo "ERROR: e2fsck failed on $img" >&2; exit 1; }
}

build_side() {   # build_side SIDE PKG...
  local side=$1; shift
  build_root "$D/root$side" "$D/manifest-$side.tsv" "$@"
  make_image "$D/root$side" "$D/$side.img"
  if [ "${VERIFY:-0}" = 1 ]; then
    build_root "$D/root${side}2" "$D/manifest-${side}2.tsv" "$@"
    make_image "$D/root${side}2" "$D/${side}2.img"
    if cmp -s "$D/$side.img" "$D/${side}2.img"; then echo "   reproducible: $side.img rebuilt bit-identical"
    else echo "   NOT reproducible: $side.img differs on rebuild" >&2; exit 1; fi
    rm -rf "$D/root${side}2" "$D/${side}2.img" "$D/manifest-${side}2.tsv"
  fi
  du -sk --apparent-size "$D/root$side" | awk '{print $1*1024}' > "$D/content-bytes-$side"
  [ "${KEEP_ROOT:-0}" = 1 ] || rm -rf "$D/root$side"
}

write_pair_json() {   # what changed and what `apt-get upgrade` would download (the .debs of B not in A)
  python3 - "$D" "$PAIR" "$SIZE" <<'EOF'
import sys, json, hashlib, os
d, pair, size = sys.argv[1:4]
def rd(p):
    return {l.split('\t')[0]: l.rstrip('\n').split('\t') for l in open(p)}
A, B = rd(f"{d}/manifest-A.tsv"), rd(f"{d}/manifest-B.tsv")
def sha(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''): h.update(b)
    return h.hexdigest()
def side(s, m):
    return {"packages": len(m), "debs_bytes": sum(int(r[2]) for r in m.values()),
            "content_bytes": int(open(f"{d}/content-bytes-{s}").read()),
            "image_bytes": os.path.getsize(f"{d}/{s}.img"), "sha256": sha(f"{d}/{s}.img")}
changed = [B[n] for n in sorted(B) if n not in A or A[n][1] != B[n][1]]
info = {
  "pair": pair, "image_size": size, "A": side("A", A), "B": side("B", B),
  "changed_packages": [{"name": r[0], "from": A.get(r[0], [None, None])[1], "to": r[1],
                        "deb_bytes": int(r[2]), "suite": r[4]} for r in changed],
  "removed_packages": [{"name": r[0], "version": r[1]} for r in (A[n] for n in sorted(A) if n not in B)],
  "apt_reference_bytes": sum(int(r[2]) for r in changed),
}
json.dump(info, open(f"{d}/pair.json", "w"), indent=1)
print(json.dumps({k: info[k] for k in ("pair", "apt_reference_bytes")}),
      "changed:", ", ".join(f"{c['name']} {c['from']} -> {c['to']}" for c in info["changed_packages"]))
EOF
}

mkdir -p "$D"
prepare_apt
echo "== $PAIR: A (${#SET_A[@]} packages) and B (${#SET_B[@]} packages), images of $SIZE"
build_side A "${SET_A[@]}"
build_side B "${SET_B[@]}"
write_pair_json
