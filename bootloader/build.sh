#!/usr/bin/env bash
# Compile bootloader/boot.cmd into U-Boot script images (mkimage -T script):
#   build/bootloader/boot-arm64.scr, boot-arm.scr   the script alone (board settings from the env or defaults)
#   build/bootloader/<board>/boot.cmd, boot.scr     per board-configs/<board>.json: its `script` settings as
#                                                   `setenv` lines before the script (same text as
#                                                   boardPrologue() in agent/src/boot/board-config.ts)
#   build/bootloader/<board>/fw_env.config          the board's env location for the device's /etc
# Install boot.scr where the board's U-Boot finds it (distro boot: /boot.scr on the boot partition).
# OTA_BOOT_OUT=DIR writes elsewhere (tests). Needs mkimage (u-boot-tools) and node.
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

prologue='
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
let text = `# board ${c.board}: settings from board-configs/${c.board}.json\n`;
for (const [name, value] of Object.entries(c.script)) text += `setenv ${name} '"'"'${value}'"'"'\n`;
process.stdout.write(text);
'
for cfg in "$root"/board-configs/*.json; do
  board=$(basename "$cfg" .json)
  arch=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).arch)' "$cfg")
  mkdir -p "$out/$board"
  { node -e "$prologue" "$cfg"; cat "$here/boot.cmd"; } > "$out/$board/boot.cmd"
  compile "$arch" "$out/$board/boot.cmd" "$out/$board/boot.scr"
  node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
process.stdout.write(`# ${c.board}: ${c.env.source}\n${c.env.fwEnvConfig.join("\n")}\n`);' "$cfg" > "$out/$board/fw_env.config"
done
echo "boot scripts in ${out}"
