#!/bin/busybox sh
# /opt/ota/start.sh of a test slot: what the systemd units do on a real device, under busybox.
# The device's own config lives on the data partition (/data/agent.json, written per test by
# provisionDataPartition in test/support/qemu): without it the slot only boots to its shell.
#  1. eth0 up at 10.0.2.15/24 (QEMU user networking; the broker and mirror are guestfwd addresses)
#  2. `ota-agent post-boot` (ota-agent-health.service): finish a trial boot (health, commit or revert)
#  3. `ota-agent run` in the background (ota-agent.service), restarted after a crash as systemd would
# Every agent line goes to the console as `ota-agent[<command>]: <line>`, and each exit as
# `ota-agent[<command>]: exited <code>`: the lines the QEMU runner's serial parser reads.
# rebootCommand in agent.json is `reboot -f` (no init to go through); busybox syncs first.
config=/data/agent.json
agent() {  # COMMAND [ARGS]: runs `ota-agent COMMAND` in the foreground, its output tagged
  cmd=$1
  { MALLOC_ARENA_MAX=1 OTA_LOG_FORMAT=text node --max-semi-space-size=1 /opt/ota/ota-agent.mjs --config "$config" "$@" 2>&1
    echo "exit-status $?"; } | while IFS= read -r line; do
    case "$line" in
      "exit-status "*) echo "ota-agent[$cmd]: exited ${line#exit-status }" ;;
      *) echo "ota-agent[$cmd]: $line" ;;
    esac
  done
}
if ! [ -f "$config" ]; then
  echo "ota-agent[start]: no $config: the agent does not run"
  exit 0
fi
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || echo "ota-agent[start]: eth0 did not come up"
agent post-boot
# An offline device (no mqtt section: updates only by `ota-agent install`) does not enable ota-agent.service.
if ! grep -q '"mqtt"' "$config"; then
  echo "ota-agent[start]: offline device (no mqtt section): run is not started"
  exit 0
fi
(
  while true; do
    agent run
    sleep 5  # RestartSec=5 of ota-agent.service
  done
) < /dev/null > /dev/console 2>&1 &
exit 0
