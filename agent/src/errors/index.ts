/**
 * One error type for the whole project: a stable string `code` that callers and
 * tests match on, a `transient` flag that decides retry versus failure, and a
 * `cause` chain. Messages say what failed, on what, and what to do.
 */
export class OtaError extends Error {
  /** Stable machine-readable code, e.g. `ENV_NO_VALID_COPY`. */
  readonly code: string;
  /** True when retrying the same operation later may succeed. */
  readonly transient: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OtaError';
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

/** The `code` of a Node.js system error (`ENOENT`, `EIO`...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Wrap an error that crosses a boundary with context: `boot env (/dev/mmcblk0boot1): write copy 2: ENOSPC`.
 * An OtaError keeps its code and transient flag; a system error keeps its errno code in the message.
 */
export function withContext(context: string, err: unknown, fallbackCode = 'IO'): OtaError {
  if (err instanceof OtaError) {
    return new OtaError(err.code, `${context}: ${err.message}`, { cause: err, transient: err.transient });
  }
  const errno = errnoCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new OtaError(errno ?? fallbackCode, `${context}: ${detail}`, { cause: err });
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
