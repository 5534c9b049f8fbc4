/**
 * Commands of a README's fenced `sh` blocks, as a shell would split them, so a
 * test runs a recipe exactly as written. Only the shell a recipe uses is read:
 * `#` comments, `\` line continuations, a trailing `&`, words split on blanks.
 * Anything else (quotes, `$`, pipes, redirections, `;`) throws: a recipe that
 * needs a real shell needs another runner, not a silently different command.
 */

/** One command line of a recipe. */
export interface RecipeCommand {
  /** The words, `npx` included. */
  readonly words: readonly string[];
  /** Ended with `&`: runs in the background. */
  readonly background: boolean;
  /** The text as joined from its lines (for messages). */
  readonly text: string;
}

/** The body of the first fenced `sh` block after the line that starts with `marker`. */
export function shBlockAfter(markdown: string, marker: string): string {
  const lines = markdown.split('\n');
  const at = lines.findIndex((l) => l.startsWith(marker));
  if (at < 0) throw new Error(`README: no line starts with ${JSON.stringify(marker)}`);
  const open = lines.findIndex((l, k) => k > at && l.trim() === '```sh');
  const close = lines.findIndex((l, k) => k > open && l.trim() === '```');
  if (open < 0 || close < 0) throw new Error(`README: no fenced sh block after ${JSON.stringify(marker)}`);
  return lines.slice(open + 1, close).join('\n');
}

/** Split a block into commands. */
export function recipeCommands(block: string): RecipeCommand[] {
  const out: RecipeCommand[] = [];
  let pending = '';
  for (const raw of block.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const text = `${pending}${line}`.trim();
    pending = '';
    if (text !== '') out.push(command(text));
  }
  if (pending.trim() !== '') throw new Error(`README: the block ends inside a continued line: ${pending}`);
  return out;
}

function command(text: string): RecipeCommand {
  if (/["'`$|;<>()]/.test(text)) throw new Error(`README: ${text}: uses shell syntax this runner does not read`);
  const background = text.endsWith('&');
  const body = background ? text.slice(0, -1) : text;
  if (body.includes('&')) throw new Error(`README: ${text}: & inside a command`);
  return { words: body.trim().split(/\s+/), background, text };
}
