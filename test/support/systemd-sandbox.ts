/**
 * A small, explicit model of the file-system sandboxing of systemd.exec(5), to
 * check which paths a service can write. Modelled settings:
 * - `ProtectSystem=`: `yes`/`true` makes /usr, /boot, /efi read-only; `full` adds /etc;
 *   `strict` makes the whole tree read-only except the API file systems /dev, /proc, /sys.
 * - `ReadWritePaths=`, `ReadOnlyPaths=`, `InaccessiblePaths=` (space-separated; a `-` or `+`
 *   prefix is dropped; an empty assignment resets the list, as in a drop-in).
 * - `ProtectHome=`: `yes`/`true` hides /home, /root, /run/user; `read-only` makes them read-only.
 * - `PrivateDevices=yes`: a private /dev with only pseudo devices (no disk, MTD or eMMC node).
 * - `DevicePolicy=closed|strict`: device nodes only as `DeviceAllow=` lists them (`rw` or `w`).
 * - `ProtectKernelTunables=yes`: /sys read-only.
 * The deepest path rule wins; at equal depth, the more restrictive one.
 */
type Access = 'rw' | 'ro' | 'none';

/** The `[Service]` settings of a unit after its drop-ins: each key's assignments in order. */
export type ServiceSettings = ReadonlyMap<string, readonly string[]>;

/** Parse the `[Service]` section of a unit file and of its drop-ins, later files after earlier ones. */
export function serviceSettings(...texts: string[]): ServiceSettings {
  const settings = new Map<string, string[]>();
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header !== null) { section = header[1] ?? ''; continue; }
      const eq = line.indexOf('=');
      if (section !== 'Service' || eq < 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      // An empty assignment resets a list setting; for a single-valued one the last assignment wins.
      settings.set(key, value === '' ? [] : [...(settings.get(key) ?? []), value]);
    }
  }
  return settings;
}

const last = (s: ServiceSettings, key: string): string | undefined => s.get(key)?.at(-1);
const yes = (v: string | undefined): boolean => v !== undefined && ['yes', 'true', '1', 'on'].includes(v);
const list = (s: ServiceSettings, key: string): string[] =>
  (s.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((p) => p !== '').map((p) => p.replace(/^[-+]+/, ''));

const under = (path: string, root: string): boolean => root === '/' || path === root || path.startsWith(`${root}/`);
const depth = (root: string): number => (root === '/' ? 0 : root.split('/').length - 1);
const RANK: Record<Access, number> = { rw: 0, ro: 1, none: 2 };

/** The rules a service's settings make: each a path root and the access below it. */
function rules(s: ServiceSettings): { root: string; access: Access; why: string }[] {
  const out: { root: string; access: Access; why: string }[] = [{ root: '/', access: 'rw', why: 'no sandbox' }];
  const protect = last(s, 'ProtectSystem') ?? 'no';
  const ro = (roots: string[], why: string): void => { for (const root of roots) out.push({ root, access: 'ro', why }); };
  if (protect === 'strict') {
    ro(['/'], 'ProtectSystem=strict');
    for (const root of ['/dev', '/proc', '/sys']) out.push({ root, access: 'rw', why: 'API file system under ProtectSystem=strict' });
  } else if (yes(protect) || protect === 'full') {
    ro(['/usr', '/boot', '/efi', ...(protect === 'full' ? ['/etc'] : [])], `ProtectSystem=${protect}`);
  }
  const home = last(s, 'ProtectHome') ?? 'no';
  for (const root of ['/home', '/root', '/run/user']) {
    if (yes(home)) out.push({ root, access: 'none', why: 'ProtectHome=yes' });
    else if (home === 'read-only') out.push({ root, access: 'ro', why: 'ProtectHome=read-only' });
  }
  if (yes(last(s, 'ProtectKernelTunables'))) ro(['/sys'], 'ProtectKernelTunables=yes');
  for (const root of list(s, 'ReadWritePaths')) out.push({ root, access: 'rw', why: `ReadWritePaths=${root}` });
  for (const root of list(s, 'ReadOnlyPaths')) out.push({ root, access: 'ro', why: `ReadOnlyPaths=${root}` });
  for (const root of list(s, 'InaccessiblePaths')) out.push({ root, access: 'none', why: `InaccessiblePaths=${root}` });
  return out;
}

/** Whether the service can write `path`, and the rule that decides it. */
export function canWrite(s: ServiceSettings, path: string): { ok: boolean; why: string } {
  if (path.startsWith('/dev/')) {
    if (yes(last(s, 'PrivateDevices'))) return { ok: false, why: 'PrivateDevices=yes hides physical devices' };
    const policy = last(s, 'DevicePolicy') ?? 'auto';
    const allowed = (s.get('DeviceAllow') ?? []).some((a) => { const [node, mode] = a.split(/\s+/); return node === path && (mode ?? 'rwm').includes('w'); });
    if ((policy === 'closed' || policy === 'strict') && !allowed) return { ok: false, why: `DevicePolicy=${policy} without DeviceAllow=${path} w` };
  }
  const applying = rules(s).filter((r) => under(path, r.root))
    .sort((a, b) => depth(a.root) - depth(b.root) || RANK[a.access] - RANK[b.access]);
  const decisive = applying.at(-1) ?? { access: 'rw' as const, why: 'no sandbox' };
  return { ok: decisive.access === 'rw', why: decisive.why };
}
