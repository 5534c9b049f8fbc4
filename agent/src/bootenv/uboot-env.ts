/**
 * The U-Boot env on storage as a `BootEnv`: the codec plus one or two copy storages, chosen once
 * at construction. Stateless between calls: every read and update reads the copies afresh, so a
 * write by U-Boot or another tool in between is never overwritten with stale data. Updates within
 * one process are serialized; across processes there is no lock (libubootenv flocks
 * /var/lock/fw_printenv.lock, which Node cannot): do not run fw_setenv while the agent updates.
 */
import { OtaError, withContext } from '../errors/index.js';
import type { CopyIndex, FlagScheme } from './codec.js';
import { OBSOLETE_FLAGS } from './codec.js';
import type { BootEnv, EnvChanges, EnvVars } from './env.js';
import { applyChanges, decodeEnv, planWrite, type EnvState } from './state.js';
import type { CopyStorage } from './storage.js';

/** What a `UBootEnv` is made of. */
export interface UBootEnvParts {
  /** Size of one copy, header included (fw_env.config's env size, U-Boot's CONFIG_ENV_SIZE). */
  readonly sizeBytes: number;
  /** One storage (single env) or two (redundant env, in fw_env.config order). */
  readonly copies: readonly [CopyStorage] | readonly [CopyStorage, CopyStorage];
  readonly scheme: FlagScheme;
}

/** Options of `UBootEnv.update`. */
export interface UpdateOptions {
  /**
   * The variables to start from when no copy is valid (an explicit default env, `--force-default`).
   * Without it, an update of an env with no valid copy is refused and nothing is written.
   */
  readonly defaultsWhenInvalid?: EnvVars;
}

/** A U-Boot environment (single or redundant) on storage. */
export class UBootEnv implements BootEnv {
  readonly description: string;
  /** Updates run one at a time: two interleaved read-modify-writes would write the same copy. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: UBootEnvParts) {
    const where = parts.copies.map((c) => c.description).join(' + ');
    this.description = parts.copies.length === 2 ? `${where} (redundant)` : where;
  }

  /** True for a redundant (two-copy) env. */
  get redundant(): boolean {
    return this.parts.copies.length === 2;
  }

  /** The decoded state: current copy, its flags, its variables in stored order. */
  async readState(): Promise<EnvState> {
    const raw = await this.readCopies();
    try {
      return decodeEnv(raw, this.parts.scheme);
    } catch (err) {
      throw withContext(`boot env (${this.description})`, err);
    }
  }

  /** Every variable of the current copy, in stored order. */
  async read(): Promise<EnvVars> {
    return (await this.readState()).vars;
  }

  /** Apply `changes` in one write of the non-current copy (fsynced); returns the variables after. */
  update(changes: EnvChanges, options: UpdateOptions = {}): Promise<EnvVars> {
    const run = this.queue.then(() => this.updateNow(changes, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async updateNow(changes: EnvChanges, options: UpdateOptions): Promise<EnvVars> {
    const state = await this.readStateOrDefaults(options.defaultsWhenInvalid);
    const vars = applyChanges(state === undefined ? options.defaultsWhenInvalid ?? new Map() : state.vars, changes);
    const plan = planWrite(state, vars, this.parts.sizeBytes, this.redundant, this.parts.scheme);
    await this.copy(plan.copy).write(plan.bytes);
    if (plan.obsolete !== undefined) await this.copy(plan.obsolete).writeFlags(OBSOLETE_FLAGS);
    return vars;
  }

  private async readStateOrDefaults(defaults: EnvVars | undefined): Promise<EnvState | undefined> {
    try {
      return await this.readState();
    } catch (err) {
      if (defaults !== undefined && err instanceof OtaError && err.code === 'ENV_NO_VALID_COPY') return undefined;
      throw err;
    }
  }

  private async readCopies(): Promise<Uint8Array[]> {
    const raw: Uint8Array[] = [];
    for (const storage of this.parts.copies) raw.push(await storage.read());
    return raw;
  }

  private copy(index: CopyIndex): CopyStorage {
    const storage = this.parts.copies[index];
    if (storage === undefined) throw new OtaError('ENV_CONFIG', `boot env (${this.description}) has no copy ${index + 1}`);
    return storage;
  }
}
