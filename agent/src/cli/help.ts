/**
 * Help text wrapped at spaces: yargs lays out its columns unwrapped (`wrap(null)`) and
 * each long line is wrapped here, its continuation indented under the description column.
 */

/** The column a help line's description starts at (after `  --flag  `), or 0 for prose. */
function descriptionColumn(line: string): number {
  const m = /^(\s+\S.*?\s{2,})\S/.exec(line);
  return m?.[1] === undefined || m[1].length > 40 ? 0 : m[1].length;
}

/** One line broken at spaces into lines of at most `width` (a longer word stays whole). */
function wrapLine(line: string, width: number): string[] {
  const indent = ' '.repeat(descriptionColumn(line));
  const out: string[] = [];
  let rest = line.trimEnd();
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    if (cut <= indent.length) break;
    out.push(rest.slice(0, cut).trimEnd());
    rest = indent + rest.slice(cut + 1).trimStart();
  }
  out.push(rest);
  return out;
}

/** `text` with every line longer than `width` wrapped at word boundaries. */
export function wrapHelp(text: string, width: number): string {
  return text.split('\n').flatMap((line) => wrapLine(line, width)).join('\n');
}
