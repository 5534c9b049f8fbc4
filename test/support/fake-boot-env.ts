/**
 * An in-memory BootEnv for unit tests of the boot layer. Its real counterpart
 * is the file-backed U-Boot env of agent/src/bootenv, exercised in
 * test/integration/boot/. It counts updates so tests can check that each
 * operation is one atomic write, and can be told to fail the next update.
 */
import { OtaError } from '../../agent/src/errors/index.js';
import type { BootEnv, EnvChanges, EnvVars } from '../../agent/src/bootenv/env.js';

/** A BootEnv held in a Map. */
export class FakeBootEnv implements BootEnv {
  readonly description = 'fake env (memory)';
  /** The stored variables; tests may replace them (a "reboot" through the simulator). */
  vars: Map<string, string>;
  /** Number of successful updates. */
  updates = 0;
  /** When set, the next update throws this error and changes nothing. */
  failNextUpdate: Error | null = null;
  /** When true, read() throws as if no copy were valid. */
  invalid = false;

  constructor(initial: Iterable<readonly [string, string]> = []) {
    this.vars = new Map(initial);
  }

  async read(): Promise<EnvVars> {
    if (this.invalid) throw new OtaError('ENV_NO_VALID_COPY', `${this.description}: no valid copy`);
    return new Map(this.vars);
  }

  async update(changes: EnvChanges): Promise<EnvVars> {
    if (this.invalid) throw new OtaError('ENV_NO_VALID_COPY', `${this.description}: no valid copy`);
    const failure = this.failNextUpdate;
    if (failure !== null) {
      this.failNextUpdate = null;
      throw failure;
    }
    const next = new Map(this.vars);
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) next.delete(name);
      else next.set(name, value);
    }
    this.vars = next;
    this.updates++;
    return new Map(next);
  }
}
