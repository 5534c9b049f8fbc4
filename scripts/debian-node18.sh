#!/usr/bin/env bash
# Unpack Debian 12's Node.js 18 (the one devices run) for this machine's architecture into a private
# folder, without installing it: `scripts/debian-node18.sh DIR` leaves DIR/root/usr/bin/node.
# Debian's node loads some built-ins from /usr/share/nodejs, so run it through DIR/node18
# (a wrapper that bind-mounts DIR's /usr/share/nodejs in a private mount namespace; needs root).
set -euo pipefail
DIR=${1:?usage: debian-node18.sh DIR}
mkdir -p "$DIR/debs"
if [ ! -x "$DIR/root/usr/bin/node" ]; then
  cd "$DIR/debs"
  apt-get download nodejs/bookworm libnode108/bookworm libc-ares2 node-cjs-module-lexer node-acorn \
    node-undici node-busboy node-xtend >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 && apt-get download nodejs/bookworm libnode108/bookworm libc-ares2 \
        node-cjs-module-lexer node-acorn node-undici node-busboy node-xtend >/dev/null; }
  for f in *.deb; do dpkg -x "$f" "$DIR/root"; done
fi
LIB=$(dirname "$(find "$DIR/root/usr/lib" -name 'libnode.so.*' | head -1)")
cat > "$DIR/node18" <<WRAP
#!/bin/sh
# Debian's Node.js 18, unpacked privately (see scripts/debian-node18.sh).
exec unshare -m sh -c 'mkdir -p /usr/share/nodejs && mount --bind "\$0" /usr/share/nodejs && lib=\$1 node=\$2 && shift 2 && exec env LD_LIBRARY_PATH="\$lib" "\$node" "\$@"' \
  "$DIR/root/usr/share/nodejs" "$LIB" "$DIR/root/usr/bin/node" "\$@"
WRAP
chmod +x "$DIR/node18"
"$DIR/node18" --version
