/**
 * OSTree's rule for /etc across an update, on an overlay: what the device
 * changed lives in the running slot's upper directory and is carried to the
 * new slot as is (the device's version wins); everything else shows the new
 * release's lower /etc. A conflict is a path the device changed that the new
 * release changed too (its entry differs between the running release's /etc
 * and the new one's): the device's version still wins, and the path is
 * reported so nobody loses a vendor's fix silently. Pure: the caller scans.
 */
import { sameEntry, type EtcEntry, type EtcManifest } from './manifest.js';

/** One path of an overlay upper directory: an entry the device wrote, or a whiteout (the device deleted it). */
export type UpperEntry = EtcEntry | { readonly kind: 'whiteout' };

/** The conflicts found, the list bounded. */
export interface Conflicts {
  /** Paths (relative to /etc), sorted, at most `limit` of them. */
  readonly paths: readonly string[];
  /** How many there were in all. */
  readonly total: number;
}

/** How many conflict paths a report keeps (the status document stays small). */
export const CONFLICT_LIMIT = 64;

/**
 * The paths of `upper` whose new-release entry (`next`) differs from the running release's (`running`),
 * where the device's entry is not already what the new release has. A directory the device holds because
 * something below it changed is a conflict only when the release changed it into something else (another
 * type or mode) than the device's copy; a whiteout, when the release changed or added what the device deleted.
 */
export function findConflicts(upper: ReadonlyMap<string, UpperEntry>, running: EtcManifest, next: EtcManifest, limit = CONFLICT_LIMIT): Conflicts {
  const found: string[] = [];
  for (const [path, mine] of upper) {
    const before = running.get(path);
    const after = next.get(path);
    if (sameEntry(before, after)) continue;
    if (mine.kind === 'whiteout') {
      if (after !== undefined) found.push(path); // the device deleted what the release changed or added
    } else if (mine.kind === 'dir' && after === undefined) {
      continue; // the release dropped a directory the device still uses: the device's files below stay
    } else if (!sameEntry(mine, after)) {
      found.push(path);
    }
  }
  found.sort();
  return { paths: found.slice(0, limit), total: found.length };
}
