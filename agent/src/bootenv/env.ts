/**
 * The boot environment as the rest of the agent sees it: read every variable,
 * or change several in one write (atomic from the bootloader's point of view).
 * Implementations: U-Boot env on storage (this folder), and fakes in tests.
 */

/**
 * Variables of a boot environment, in the order they are stored. Names and values are byte strings
 * (one code unit per stored byte, see names.ts): ASCII reads as itself, and any other byte survives
 * a read and a write unchanged.
 */
export type EnvVars = ReadonlyMap<string, string>;

/** Changes to apply in one write: a byte string sets a variable, `null` deletes it. */
export type EnvChanges = Readonly<Record<string, string | null>>;

/** A boot environment with an atomic multi-variable update. */
export interface BootEnv {
  /** Every variable of the current valid copy; throws OtaError when no copy is valid. */
  read(): Promise<EnvVars>;
  /** Apply all `changes` in one write of the non-current copy, fsynced; returns the variables after. */
  update(changes: EnvChanges): Promise<EnvVars>;
  /** Where the env lives, for messages (`/dev/mtd0 @0x40000`, `env.img`...). */
  readonly description: string;
}
