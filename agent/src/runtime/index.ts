/**
 * Process-wide runtime settings the agent sets on itself, first thing, before its
 * code is loaded: a person running `ota-agent delta apply` or `install` from a shell
 * passes none of the service unit's flags, and the device must still stay within
 * its memory budget.
 *
 * V8's young generation starts at 1 MiB semi-spaces and doubles them (up to 16 MiB
 * each on 64-bit) whenever enough objects survived since the last growth: a long apply
 * always gets there, and so does start-up (yargs, config validation). A growth factor
 * of 1 keeps the semi-spaces at their initial size, which is what the unit's
 * `--max-semi-space-size=1` does; unlike that flag, it takes effect after V8 started
 * (the heap reads it at each growth; the semi-space maximum is fixed at start).
 * Measured on the 256 MiB security-fix pair with plain node: idle 74 -> 63 MiB,
 * apply peak 100-104 -> 82 MiB.
 */
import { setFlagsFromString } from 'node:v8';

/** Flags that are safe to set on a running V8 (read at each use, not at heap set-up). */
export const RUNTIME_V8_FLAGS = ['--semi-space-growth-factor=1'] as const;

/** Apply RUNTIME_V8_FLAGS to this process; call it before importing the agent's code. */
export function boundRuntimeMemory(): void {
  for (const flag of RUNTIME_V8_FLAGS) setFlagsFromString(flag);
}
