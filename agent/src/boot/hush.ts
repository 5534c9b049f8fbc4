/**
 * A parser for the subset of U-Boot's hush shell that bootloader/boot.cmd uses:
 * words with '...' and "..." quoting and ${var} references, `;` and newlines,
 * `&&` and `||`, `if/then/elif/else/fi`, `for NAME in WORDS; do ...; done`,
 * and `#` comments. Anything else (pipes, redirections, `while`, functions) is
 * refused with its line number, so the script cannot grow a construct the
 * simulator would misread.
 */
import { OtaError } from '../errors/index.js';

/** One piece of a word: unquoted, inside "..." (expanded) or inside '...' (literal). */
export interface WordPart { readonly text: string; readonly mode: 'plain' | 'double' | 'single' }
/** A shell word, as its quoted and unquoted parts. */
export type Word = readonly WordPart[];

/** A parsed command. */
export type HushNode =
  | { readonly kind: 'simple'; readonly words: readonly Word[]; readonly line: number }
  | { readonly kind: 'andor'; readonly first: HushNode; readonly rest: readonly { op: '&&' | '||'; node: HushNode }[] }
  | { readonly kind: 'if'; readonly branches: readonly { cond: readonly HushNode[]; body: readonly HushNode[] }[]; readonly otherwise: readonly HushNode[] }
  | { readonly kind: 'for'; readonly name: string; readonly items: readonly Word[]; readonly body: readonly HushNode[]; readonly line: number };

type Token =
  | { readonly type: 'word'; readonly word: Word; readonly line: number }
  | { readonly type: 'op'; readonly op: ';' | '\n' | '&&' | '||'; readonly line: number };

function syntaxError(line: number, what: string): OtaError {
  return new OtaError('BOOT_SCRIPT_SYNTAX', `boot script line ${line}: ${what}; keep to the hush subset the simulator knows (agent/src/boot/hush.ts)`);
}

/** Split script text into words and operators. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let parts: WordPart[] = [];
  let plain = '';
  let inWord = false;
  let line = 1;
  const flushPlain = (): void => { if (plain !== '') { parts.push({ text: plain, mode: 'plain' }); plain = ''; } };
  const endWord = (): void => {
    flushPlain();
    if (inWord) tokens.push({ type: 'word', word: parts, line });
    parts = [];
    inWord = false;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r') { endWord(); i++; continue; }
    if (c === '\n') { endWord(); tokens.push({ type: 'op', op: '\n', line }); line++; i++; continue; }
    if (c === '#' && !inWord) { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === ';') { endWord(); tokens.push({ type: 'op', op: ';', line }); i++; continue; }
    if (c === '&' || c === '|') {
      if (text[i + 1] !== c) throw syntaxError(line, `'${c}' alone (pipes and background jobs are not supported)`);
      endWord();
      tokens.push({ type: 'op', op: c === '&' ? '&&' : '||', line });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>' || c === '(' || c === ')' || c === '`') throw syntaxError(line, `unsupported character '${c}' outside quotes`);
    inWord = true;
    if (c === '\\') {
      if (text[i + 1] !== '\n') throw syntaxError(line, 'backslash escapes are not supported (only a backslash at the end of a line)');
      line++;
      i += 2;
      continue;
    }
    if (c === "'" || c === '"') {
      flushPlain();
      const close = c === "'" ? readSingle(text, i + 1) : readDouble(text, i + 1);
      if (close === null) throw syntaxError(line, `unterminated ${c} quote`);
      if (c === '"' && close.text.includes('\\')) throw syntaxError(line, 'backslash escapes are not supported inside "..."');
      parts.push({ text: close.text, mode: c === "'" ? 'single' : 'double' });
      line += countNewlines(text.slice(i, close.end));
      i = close.end;
      continue;
    }
    plain += c;
    i++;
  }
  endWord();
  return tokens;
}

function countNewlines(s: string): number {
  return s.split('\n').length - 1;
}

function readSingle(text: string, from: number): { text: string; end: number } | null {
  const close = text.indexOf("'", from);
  return close < 0 ? null : { text: text.slice(from, close), end: close + 1 };
}

function readDouble(text: string, from: number): { text: string; end: number } | null {
  const close = text.indexOf('"', from);
  return close < 0 ? null : { text: text.slice(from, close), end: close + 1 };
}

/** The literal text of a word that is a single unquoted part (keywords, names). */
export function bareWord(word: Word): string | null {
  const only = word[0];
  return word.length === 1 && only !== undefined && only.mode === 'plain' ? only.text : null;
}

const KEYWORDS = new Set(['if', 'then', 'elif', 'else', 'fi', 'for', 'in', 'do', 'done', 'while', 'until', 'case', 'esac']);

/** Parse a script (or the text of a variable given to `run`) into commands. */
export function parseHush(text: string): HushNode[] {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const peekKeyword = (): string | null => {
    const t = peek();
    if (t === undefined || t.type !== 'word') return null;
    const w = bareWord(t.word);
    return w !== null && KEYWORDS.has(w) ? w : null;
  };
  const lineNow = (): number => peek()?.line ?? (tokens[tokens.length - 1]?.line ?? 1);
  const skipSeparators = (): void => {
    for (let t = peek(); t !== undefined && t.type === 'op' && (t.op === ';' || t.op === '\n'); t = peek()) pos++;
  };
  const expectKeyword = (kw: string): void => {
    skipSeparators();
    if (peekKeyword() !== kw) throw syntaxError(lineNow(), `expected '${kw}'`);
    pos++;
  };

  const parseList = (terminators: readonly string[]): HushNode[] => {
    const nodes: HushNode[] = [];
    for (;;) {
      skipSeparators();
      const kw = peekKeyword();
      if (peek() === undefined || (kw !== null && terminators.includes(kw))) return nodes;
      nodes.push(parseAndOr());
    }
  };

  const parseAndOr = (): HushNode => {
    const first = parseCommand();
    const rest: { op: '&&' | '||'; node: HushNode }[] = [];
    for (let t = peek(); t !== undefined && t.type === 'op' && (t.op === '&&' || t.op === '||'); t = peek()) {
      pos++;
      for (let n = peek(); n !== undefined && n.type === 'op' && n.op === '\n'; n = peek()) pos++;
      rest.push({ op: t.op, node: parseCommand() });
    }
    return rest.length === 0 ? first : { kind: 'andor', first, rest };
  };

  const parseCommand = (): HushNode => {
    const kw = peekKeyword();
    if (kw === 'if') return parseIf();
    if (kw === 'for') return parseFor();
    if (kw !== null) throw syntaxError(lineNow(), `unexpected '${kw}'`);
    const words: Word[] = [];
    const line = lineNow();
    for (let t = peek(); t !== undefined && t.type === 'word'; t = peek()) { words.push(t.word); pos++; }
    if (words.length === 0) throw syntaxError(line, 'empty command');
    return { kind: 'simple', words, line };
  };

  const parseIf = (): HushNode => {
    pos++;
    const branches: { cond: HushNode[]; body: HushNode[] }[] = [];
    let otherwise: HushNode[] = [];
    for (;;) {
      const cond = parseList(['then']);
      expectKeyword('then');
      const body = parseList(['elif', 'else', 'fi']);
      if (cond.length === 0 || body.length === 0) throw syntaxError(lineNow(), "empty 'if' condition or 'then' body");
      branches.push({ cond, body });
      const kw = peekKeyword();
      pos++;
      if (kw === 'elif') continue;
      if (kw === 'else') { otherwise = parseList(['fi']); expectKeyword('fi'); }
      else if (kw !== 'fi') throw syntaxError(lineNow(), "'if' without 'fi'");
      return { kind: 'if', branches, otherwise };
    }
  };

  const parseFor = (): HushNode => {
    const line = lineNow();
    pos++;
    const nameToken = peek();
    const name = nameToken?.type === 'word' ? bareWord(nameToken.word) : null;
    if (name === null || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw syntaxError(line, "'for' needs a variable name");
    pos++;
    if (peekKeyword() !== 'in') throw syntaxError(line, "expected 'in' after 'for NAME'");
    pos++;
    const items: Word[] = [];
    for (let t = peek(); t !== undefined && t.type === 'word'; t = peek()) { items.push(t.word); pos++; }
    expectKeyword('do');
    const body = parseList(['done']);
    if (body.length === 0) throw syntaxError(line, "empty 'do' body");
    expectKeyword('done');
    return { kind: 'for', name, items, body, line };
  };

  const nodes = parseList([]);
  if (peek() !== undefined) throw syntaxError(lineNow(), `unexpected '${peekKeyword() ?? '?'}'`);
  return nodes;
}
