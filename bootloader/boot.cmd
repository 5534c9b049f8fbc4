# ota-agent A/B boot script for U-Boot's hush shell. See bootloader/README.md.
#
# RAUC-style try counters kept by this script, so it works on a stock U-Boot
# without CONFIG_BOOTCOUNT_LIMIT. State (written by this script and the agent):
#   BOOT_ORDER      slots to try, first is primary ("A B")
#   BOOT_A_LEFT     tries left for slot A (one digit, 0..9)
#   BOOT_B_LEFT     tries left for slot B (one digit, 0..9)
#   OTA_BOOT_COUNT  canary: incremented (hex) and saved on every run of this script
#   OTA_EXHAUSTED   how many times no slot had tries left (hex)
#   OTA_TRIAL       the slot on trial: written by the agent only, carried here
# Names must match agent/src/boot/vars.ts; agent/src/boot/simulator.ts runs this
# very text, so every construct here must be one the simulator knows.
#
# Numbers: setexpr reads and prints hex, test reads decimal; counters stay at
# one digit so both agree.
#
# Board settings (lowercase ota_*) come from setenv lines that build.sh puts
# before this text, or from the env; the defaults below suit QEMU virt with
# distro boot (devtype/devnum/distro_bootpart name the partition of boot.scr).

test -n "${ota_env}" || setenv ota_env native
test -n "${ota_tries}" || setenv ota_tries 3

# --- Where the env lives --------------------------------------------------
# native: U-Boot's own env store (NOR flash, eMMC, or FAT with ENV_IS_IN_FAT);
#         U-Boot loaded it before this script; saved with saveenv.
# file:   a uboot.env file on the boot partition that this script imports
#         and exports itself (U-Boot builds whose own store cannot be used).
if test "x${ota_env}" = xfile; then
  test -n "${ota_env_iface}" || setenv ota_env_iface ${devtype}
  test -n "${ota_env_devpart}" || setenv ota_env_devpart ${devnum}:${distro_bootpart}
  test -n "${ota_env_file}" || setenv ota_env_file uboot.env
  test -n "${ota_env_size}" || setenv ota_env_size 0x4000
  # Only the state is imported: board settings in this script always win.
  if load ${ota_env_iface} ${ota_env_devpart} ${kernel_addr_r} ${ota_env_file} && env import -c ${kernel_addr_r} ${filesize} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT OTA_BOOT_COUNT OTA_EXHAUSTED OTA_TRIAL; then
    echo "ota: state imported from ${ota_env_file}"
  else
    echo "ota: WARNING no valid ${ota_env_file}: starting from the default state"
  fi
fi

# --- Defaults for board settings -----------------------------------------
test -n "${ota_dev_iface}" || setenv ota_dev_iface ${devtype}
test -n "${ota_dev_num}" || setenv ota_dev_num ${devnum}
test -n "${ota_part_A}" || setenv ota_part_A 2
test -n "${ota_part_B}" || setenv ota_part_B 3
test -n "${ota_root_A}" || setenv ota_root_A /dev/vda2
test -n "${ota_root_B}" || setenv ota_root_B /dev/vda3
test -n "${ota_bootargs}" || setenv ota_bootargs "console=ttyAMA0 panic=5 rootwait"
test -n "${ota_load}" || setenv ota_load 'load ${ota_dev_iface} ${ota_dev_num}:${ota_part} ${kernel_addr_r} /boot/vmlinuz && load ${ota_dev_iface} ${ota_dev_num}:${ota_part} ${ramdisk_addr_r} /boot/initrd.img && setenv ota_initrd_size ${filesize}'
test -n "${ota_boot}" || setenv ota_boot 'booti ${kernel_addr_r} ${ramdisk_addr_r}:${ota_initrd_size} ${fdtcontroladdr}'

# --- Default state (first boot, or an env that was lost) ------------------
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT ${ota_tries}
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT ${ota_tries}
test -n "${OTA_BOOT_COUNT}" || setenv OTA_BOOT_COUNT 0
test -n "${OTA_EXHAUSTED}" || setenv OTA_EXHAUSTED 0

# --- Canary: the agent checks it reads back what this boot wrote ----------
setexpr OTA_BOOT_COUNT ${OTA_BOOT_COUNT} + 1

# --- Choose the first slot in BOOT_ORDER with tries left, spend one try ----
setenv ota_slot
for s in "${BOOT_ORDER}"; do
  if test "x${ota_slot}" = x; then
    if test "x${s}" = xA; then
      if test ${BOOT_A_LEFT} -gt 0; then
        setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
        setenv ota_slot A
        setenv ota_part ${ota_part_A}
        setenv ota_root ${ota_root_A}
      fi
    elif test "x${s}" = xB; then
      if test ${BOOT_B_LEFT} -gt 0; then
        setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
        setenv ota_slot B
        setenv ota_part ${ota_part_B}
        setenv ota_root ${ota_root_B}
      fi
    fi
  fi
done

# --- No slot has tries left: refill the slots in BOOT_ORDER and reset ------
# A headless device must never stop at a prompt or power off (nobody is
# there to help): it keeps cycling through its slots, ota_tries at a time.
# A BOOT_ORDER without any slot (both marked bad) gets "A B" back for the same reason.
if test "x${ota_slot}" = x; then
  echo "ota: no slot in BOOT_ORDER (${BOOT_ORDER}) has tries left: refilling to ${ota_tries} and resetting"
  setenv ota_refilled
  for s in "${BOOT_ORDER}"; do
    if test "x${s}" = xA; then
      setenv BOOT_A_LEFT ${ota_tries}
      setenv ota_refilled 1
    elif test "x${s}" = xB; then
      setenv BOOT_B_LEFT ${ota_tries}
      setenv ota_refilled 1
    fi
  done
  if test "x${ota_refilled}" = x; then
    setenv BOOT_ORDER "A B"
    setenv BOOT_A_LEFT ${ota_tries}
    setenv BOOT_B_LEFT ${ota_tries}
  fi
  setexpr OTA_EXHAUSTED ${OTA_EXHAUSTED} + 1
fi

# --- Save: one write per boot, before anything can fail -------------------
if test "x${ota_env}" = xfile; then
  env export -c -s ${ota_env_size} ${kernel_addr_r} && fatwrite ${ota_env_iface} ${ota_env_devpart} ${kernel_addr_r} ${ota_env_file} ${ota_env_size}
else
  saveenv
fi

if test "x${ota_slot}" = x; then
  reset
fi

# --- Boot: a slot that fails to load or boot has spent its try ------------
setenv bootargs "${ota_bootargs} root=${ota_root} ota.slot=${ota_slot} ota.boot=${OTA_BOOT_COUNT}"
echo "ota: booting slot ${ota_slot} (A left ${BOOT_A_LEFT}, B left ${BOOT_B_LEFT}, boot ${OTA_BOOT_COUNT})"
run ota_load && run ota_boot
echo "ota: slot ${ota_slot} failed to load or boot: resetting"
reset
