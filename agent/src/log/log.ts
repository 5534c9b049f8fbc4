/**
 * The agent's log: one line per event on stdout, for journald (which adds the
 * time) or, with `logFormat: "json"` / `--log-format json`, one JSON object per line.
 * `OTA_LOG_FORMAT=journal` (set by the systemd unit) prefixes each line with its
 * syslog priority, which journald reads.
 */
import type { LogFormat } from '../config/index.js';

/** Extra fields of a log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** Where the agent logs. */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A state change (`update.transition`, `slot.armed`...): in JSON its name and `fields` are members a
   * script reads (`{"event":"update.transition","from":"idle","on":"start","to":"downloading"}`);
   * in text only `message`, which already says it in words.
   */
  event(level: 'info' | 'warn', name: string, message: string, fields: LogFields): void;
}

/** How lines look: the config's formats, plus `journal` (text with sd-daemon priority prefixes `<6>`, `<4>`, `<3>`). */
export type LineFormat = LogFormat | 'journal';

const PRIORITY = { info: '<6>', warn: '<4>', error: '<3>' } as const;

/** A logger writing `format` lines to `out`, stamped by `now` in JSON. */
export function makeLogger(format: LineFormat, out: { write(text: string): unknown }, now: () => Date): Logger {
  const line = (level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}, event?: string): void => {
    const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (format === 'json') {
      out.write(`${JSON.stringify({ time: now().toISOString(), level, ...(event === undefined ? {} : { event }), message, ...Object.fromEntries(defined) })}\n`);
      return;
    }
    const extra = event !== undefined ? '' : defined.map(([k, v]) => ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`).join('');
    const prefix = format === 'journal' ? PRIORITY[level] : level === 'info' ? '' : `${level}: `;
    out.write(`${prefix}${message}${extra}\n`);
  };
  return {
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
    event: (level, name, m, f) => line(level, m, f, name),
  };
}
