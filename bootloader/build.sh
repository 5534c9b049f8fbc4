#!/usr/bin/env bash
# Compile bootloader/boot.cmd into U-Boot script images (mkimage -T script):
#   build/bootloader/boot-arm64.scr, boot-arm.scr   the script alone (board settings from the env or defaults)
#   build/bootloader/<board>/boot.cmd, boot.scr     per board-configs/<board>.json: its `script` settings as
#                                                   `setenv` lines before the script (same text as
#                                                   boardPrologue() in agent/src/boot/board-config.ts)
#   build/bootloader/<board>/fw_env.config          the board's env location for the device's /etc
# Install boot.scr where the board's U-Boot finds it (distro boot: /boot.scr on the boot partition).
# OTA_BOOT_OUT=DIR writes elsewhere (tests), OTA_BOARD_CONFIGS=DIR reads board configs from DIR.
# Needs mkimage (u-boot-tools), node, and the agent built (npm run build: the board config validator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${OTA_BOOT_OUT:-$root/build/bootloader}

if ! command -v mkimage >/dev/null; then
  echo "bootloader/build.sh: mkimage not found: apt-get install u-boot-tools" >&2
  exit 1
fi

compile() { # ARCH SOURCE IMAGE
  mkimage -A "$1" -O linux -T script -C none -n "ota-agent A/B boot" -d "$2" "$3" >/dev/null
}

mkdir -p "$out"
compile arm64 "$here/boot.cmd" "$out/boot-arm64.scr"
compile arm "$here/boot.cmd" "$out/boot-arm.scr"

# Every board config goes through the agent's validator (bootloader/board.mjs): a config it refuses
# stops the build with its one-line reason, before anything is written for that board.
board() { node "$here/board.mjs" "$@"; }
configs=${OTA_BOARD_CONFIGS:-$root/board-configs}
for cfg in "$configs"/*.json; do
  name=$(basename "$cfg" .json)
  prologue=$(board prologue "$cfg") || exit 1
  fw_env=$(board fw-env "$cfg") || exit 1
  arch=$(board field "$cfg" arch) || exit 1
  mkdir -p "$out/$name"
  { printf '%s\n' "$prologue"; cat "$here/boot.cmd"; } > "$out/$name/boot.cmd"
  compile "$arch" "$out/$name/boot.cmd" "$out/$name/boot.scr"
  printf '%s\n' "$fw_env" > "$out/$name/fw_env.config"
done
echo "boot scripts in ${out}"
