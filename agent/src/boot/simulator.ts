/**
 * A simulator of one U-Boot run of the boot script: it interprets the actual
 * text of bootloader/boot.cmd (with the hush subset in hush.ts and U-Boot's
 * number rules in uboot-numbers.ts), so it cannot drift from the script.
 * Pure: the world (stored env, files on the boot media) goes in, the outcome
 * (slot booted, reset, ...), the stored env after and the saves made come out.
 * Unknown commands are refused rather than guessed.
 */
import { OtaError } from '../errors/index.js';
import type { EnvVars } from '../bootenv/env.js';
import { parseHush } from './hush.js';
import type { HushNode, Word } from './hush.js';
import { setexpr, simpleStrtoul, ubootTest } from './uboot-numbers.js';
import type { Status } from './uboot-numbers.js';

/** A file on the boot media: a U-Boot env image (as `env export -c` writes it), or anything else. */
export type SimFile =
  | { readonly kind: 'env'; readonly vars: EnvVars; readonly sizeBytes: number }
  | { readonly kind: 'blob'; readonly sizeBytes: number };

/** What U-Boot finds when it starts. */
export interface BootWorld {
  /** U-Boot's own env store (NOR flash...): null when it holds no valid env, so U-Boot uses `defaultEnv`. */
  readonly nativeEnv: EnvVars | null;
  /** The env compiled into U-Boot. */
  readonly defaultEnv: EnvVars;
  /** Variables set before the script runs (distro boot: devtype, devnum, distro_bootpart). */
  readonly bootVars?: EnvVars;
  /** Files with known content, by `fileKey`. Files in neither map exist as opaque blobs. */
  readonly files?: ReadonlyMap<string, SimFile>;
  /** Files that do not exist, by `fileKey` (a slot without a kernel...). */
  readonly missingFiles?: ReadonlySet<string>;
  /** Width of U-Boot's `ulong`: 64 on arm64, 32 on arm. */
  readonly ulongBits?: 32 | 64;
}

/** How the run ended. `fell-through`: the script returned, and distro boot would try its next target. */
export type BootOutcome =
  | { readonly kind: 'boot'; readonly slot: string | null; readonly bootargs: string; readonly command: string }
  | { readonly kind: 'reset' }
  | { readonly kind: 'poweroff' }
  | { readonly kind: 'fell-through' };

/** Everything one run of the script did. */
export interface BootRun {
  readonly outcome: BootOutcome;
  /** U-Boot's own env store after the run (changed by `saveenv`). */
  readonly nativeEnv: EnvVars | null;
  /** Files after the run (changed by `fatwrite`). */
  readonly files: ReadonlyMap<string, SimFile>;
  /** Env writes made (`saveenv`, or `fatwrite` of an exported env). */
  readonly saves: number;
  /** The running env at the end. */
  readonly env: EnvVars;
  /** Lines printed by `echo` and by failing commands. */
  readonly output: readonly string[];
}

/** The key of a file in `BootWorld.files`: `virtio 0:1 uboot.env` (no leading slash). */
export function fileKey(iface: string, devpart: string, path: string): string {
  return `${iface} ${devpart} ${path.replace(/^\/+/, '')}`;
}

const MAX_STEPS = 100_000;

class Halt {
  constructor(readonly outcome: BootOutcome) {}
}

function simError(what: string): OtaError {
  return new OtaError('BOOT_SIM', `boot script simulator: ${what}`);
}

/** Run `script` (the text of boot.cmd, with any board prologue) once against `world`. */
export function simulateBoot(script: string, world: BootWorld): BootRun {
  const shell = new Shell(world);
  let outcome: BootOutcome = { kind: 'fell-through' };
  try {
    shell.runList(parseHush(script));
  } catch (err) {
    if (!(err instanceof Halt)) throw err;
    outcome = err.outcome;
  }
  return { outcome, nativeEnv: shell.nativeEnv, files: shell.files, saves: shell.saves, env: new Map(shell.env), output: shell.output };
}

class Shell {
  readonly env: Map<string, string>;
  readonly locals = new Map<string, string>();
  readonly files: Map<string, SimFile>;
  readonly memory = new Map<string, SimFile>();
  readonly output: string[] = [];
  nativeEnv: EnvVars | null;
  saves = 0;
  private steps = 0;
  private readonly ulongBits: 32 | 64;
  private readonly missing: ReadonlySet<string>;

  constructor(world: BootWorld) {
    this.nativeEnv = world.nativeEnv;
    // U-Boot's import (himport_r) deletes `name=` entries: an empty value does not exist at run time.
    const stored = [...(world.nativeEnv ?? world.defaultEnv)].filter(([, v]) => v !== '');
    this.env = new Map([...stored, ...(world.bootVars ?? new Map<string, string>())]);
    this.files = new Map(world.files ?? []);
    this.missing = world.missingFiles ?? new Set();
    this.ulongBits = world.ulongBits ?? 64;
  }

  runList(nodes: readonly HushNode[]): Status {
    let status: Status = 0;
    for (const node of nodes) status = this.run(node);
    return status;
  }

  private run(node: HushNode): Status {
    if (++this.steps > MAX_STEPS) throw simError(`more than ${MAX_STEPS} steps: endless loop?`);
    switch (node.kind) {
      case 'simple': return this.command(node.words.flatMap((w) => this.expand(w, node.line)), node.line);
      case 'andor': {
        let status = this.run(node.first);
        for (const { op, node: next } of node.rest) {
          if ((op === '&&') === (status === 0)) status = this.run(next);
        }
        return status;
      }
      case 'if': {
        for (const branch of node.branches) {
          if (this.runList(branch.cond) === 0) return this.runList(branch.body);
        }
        return this.runList(node.otherwise);
      }
      case 'for': {
        // U-Boot's hush splits the list into words even inside quotes: `for s in "${BOOT_ORDER}"` gives A, B.
        const items = node.items.map((w) => this.expandText(w)).join(' ').split(/\s+/).filter((s) => s !== '');
        let status: Status = 0;
        for (const item of items) {
          this.locals.set(node.name, item);
          status = this.runList(node.body);
        }
        return status;
      }
    }
  }

  private lookup(name: string): string {
    return this.locals.get(name) ?? this.env.get(name) ?? '';
  }

  private substitute(text: string, check: (name: string, value: string) => void = () => undefined): string {
    return text.replace(/\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)/g, (_m, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = this.lookup(name);
      check(name, value);
      return value;
    });
  }

  private expandText(word: Word): string {
    return word.map((p) => (p.mode === 'single' ? p.text : this.substitute(p.text))).join('');
  }

  /**
   * One word to zero or one argument. U-Boot's hush pastes the values into the command and
   * parses it again (quoted words inside '...'), so a value that would parse differently is
   * refused rather than guessed: an unquoted one with blanks, quotes or shell operators, a
   * quoted one with a single quote.
   */
  private expand(word: Word, line: number): string[] {
    const text = word.map((p) => {
      if (p.mode === 'single') return p.text;
      return this.substitute(p.text, (name, value) => {
        const bad = p.mode === 'plain' ? /[\s;&|'"$\\#]/.test(value) : value.includes("'");
        if (bad) throw simError(`line ${line}: \${${name}} is ${JSON.stringify(value)}, which U-Boot's hush would parse again differently${p.mode === 'plain' ? '; quote it' : ''}`);
      });
    }).join('');
    const quoted = word.some((p) => p.mode !== 'plain');
    return text === '' && !quoted ? [] : [text];
  }

  private command(argv: readonly string[], line: number): Status {
    const [name, ...args] = argv;
    if (name === undefined) return 0;
    const impl = this.commands[name];
    if (impl === undefined) throw simError(`line ${line}: command '${name}' is not simulated; add it to agent/src/boot/simulator.ts or keep it out of boot.cmd`);
    return impl(args);
  }

  private fail(message: string): Status {
    this.output.push(message);
    return 1;
  }

  private readonly commands: Readonly<Record<string, (args: readonly string[]) => Status>> = {
    echo: (args) => { this.output.push(args.join(' ')); return 0; },
    true: () => 0,
    false: () => 1,
    sleep: () => 0,
    test: (args) => ubootTest(args, (iface, devpart, path) => this.exists(fileKey(iface, devpart, path))),
    setenv: (args) => this.setenv(args),
    setexpr: (args) => {
      const [name, ...rest] = args;
      const value = name === undefined ? null : setexpr(rest, this.ulongBits);
      if (name === undefined || value === null) return this.fail(`setexpr: usage error: setexpr ${args.join(' ')}`);
      this.env.set(name, value);
      return 0;
    },
    saveenv: () => { this.nativeEnv = new Map(this.env); this.saves++; return 0; },
    load: (args) => this.load(args),
    fatload: (args) => this.load(args),
    ext4load: (args) => this.load(args),
    env: (args) => this.envCommand(args),
    fatwrite: (args) => this.fatwrite(args),
    run: (args) => {
      for (const name of args) {
        const text = this.env.get(name);
        if (text === undefined) return this.fail(`## Error: "${name}" not defined`);
        const status = this.runList(parseHush(text));
        if (status !== 0) return status;
      }
      return 0;
    },
    booti: (args) => this.boot('booti', args),
    bootz: (args) => this.boot('bootz', args),
    bootm: (args) => this.boot('bootm', args),
    reset: () => { throw new Halt({ kind: 'reset' }); },
    poweroff: () => { throw new Halt({ kind: 'poweroff' }); },
  };

  private setenv(args: readonly string[]): Status {
    const [name, ...value] = args;
    if (name === undefined || name.includes('=')) return this.fail(`setenv: usage error: setenv ${args.join(' ')}`);
    if (value.length === 0) this.env.delete(name);
    else this.env.set(name, value.join(' '));
    return 0;
  }

  private exists(key: string): boolean {
    return this.files.has(key) || !this.missing.has(key);
  }

  private load(args: readonly string[]): Status {
    const [iface, devpart, addr, path] = args;
    if (iface === undefined || devpart === undefined || addr === undefined || path === undefined) return this.fail(`load: usage error: load ${args.join(' ')}`);
    const key = fileKey(iface, devpart, path);
    if (!this.exists(key)) return this.fail(`** File not found ${path} **`);
    const file = this.files.get(key) ?? { kind: 'blob', sizeBytes: 0x1000 };
    this.memory.set(addr, file);
    this.env.set('filesize', file.sizeBytes.toString(16));
    return 0;
  }

  private fatwrite(args: readonly string[]): Status {
    const [iface, devpart, addr, path, size] = args;
    if (iface === undefined || devpart === undefined || addr === undefined || path === undefined || size === undefined) {
      return this.fail(`fatwrite: usage error: fatwrite ${args.join(' ')}`);
    }
    const content = this.memory.get(addr) ?? { kind: 'blob', sizeBytes: Number(simpleStrtoul(size, 16)) };
    this.files.set(fileKey(iface, devpart, path), content);
    if (content.kind === 'env') this.saves++;
    return 0;
  }

  private envCommand(args: readonly string[]): Status {
    const [sub, ...rest] = args;
    if (sub === 'set') return this.setenv(rest);
    if (sub === 'import') return this.envImport(rest);
    if (sub === 'export') return this.envExport(rest);
    throw simError(`'env ${sub ?? ''}' is not simulated`);
  }

  /** `env import [-d] -c ADDR SIZE [VAR...]`: with a list, listed variables absent from the image are deleted (himport_r). */
  private envImport(args: readonly string[]): Status {
    const flags = args.filter((a) => a.startsWith('-'));
    const [addr, , ...names] = args.filter((a) => !a.startsWith('-'));
    if (!flags.includes('-c') || flags.some((f) => f !== '-c' && f !== '-d') || addr === undefined) throw simError(`'env import ${args.join(' ')}' is not simulated (only -c [-d])`);
    const image = this.memory.get(addr);
    if (image === undefined || image.kind !== 'env') return this.fail('## Error: bad CRC, import failed');
    if (names.length === 0) {
      if (flags.includes('-d')) this.env.clear();
      for (const [k, v] of image.vars) {
        if (v === '') this.env.delete(k);
        else this.env.set(k, v);
      }
      return 0;
    }
    for (const name of names) {
      const value = image.vars.get(name);
      if (value === undefined || value === '') this.env.delete(name);
      else this.env.set(name, value);
    }
    return 0;
  }

  /** `env export -c -s SIZE ADDR`: the whole env as a CRC-protected image of SIZE bytes. */
  private envExport(args: readonly string[]): Status {
    const sizeAt = args.indexOf('-s');
    const sizeText = args[sizeAt + 1];
    const rest = args.filter((a, i) => !a.startsWith('-') && i !== sizeAt + 1);
    const addr = rest[0];
    if (!args.includes('-c') || sizeAt < 0 || sizeText === undefined || addr === undefined || rest.length > 1) {
      throw simError(`'env export ${args.join(' ')}' is not simulated (only -c -s SIZE ADDR)`);
    }
    const sizeBytes = Number(simpleStrtoul(sizeText, 16));
    let dataBytes = 1;
    for (const [k, v] of this.env) dataBytes += Buffer.byteLength(`${k}=${v}`) + 1;
    if (dataBytes > sizeBytes - 4) return this.fail(`## Error: env export: ${dataBytes} bytes do not fit in ${sizeBytes - 4}`);
    this.memory.set(addr, { kind: 'env', vars: new Map(this.env), sizeBytes });
    this.env.set('filesize', sizeBytes.toString(16));
    return 0;
  }

  private boot(command: string, args: readonly string[]): Status {
    if (args.length === 0) return this.fail(`${command}: no kernel address`);
    const bootargs = this.env.get('bootargs') ?? '';
    const slot = /(?:^|\s)ota\.slot=(\S+)/.exec(bootargs)?.[1] ?? null;
    throw new Halt({ kind: 'boot', slot, bootargs, command: [command, ...args].join(' ') });
  }
}

