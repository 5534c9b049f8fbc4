// Reads a board config (board-configs/<board>.json) through the agent's validator
// (agent/src/boot/board-config.ts, compiled in build/): build.sh and the emulated-ARM image
// builder never use a field of a config that validateBoardConfig refused.
//   node bootloader/board.mjs prologue FILE    the `setenv` lines before boot.cmd (boardPrologue)
//   node bootloader/board.mjs fw-env FILE      the board's fw_env.config
//   node bootloader/board.mjs field FILE PATH  one string field (`arch`, `env.fwEnvConfig.0`)
// A refusal is one line on stderr, `board.mjs: [CODE] message`, and exit 1.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function boardModule() {
  try {
    return await import(new URL('../build/agent/src/boot/index.js', import.meta.url).href);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw Object.assign(new Error('the agent is not built (build/agent/src/boot/index.js is missing): run npm run build first'), { code: 'BUILD_MISSING' });
  }
}

async function load(file) {
  const { parseBoardConfig } = await boardModule();
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw Object.assign(new Error(`read board config ${file}: ${err.message}`), { code: 'BOARD_CONFIG_INVALID' });
  }
  const source = file.startsWith(root) ? file.slice(root.length) : file;
  return { config: parseBoardConfig(text, source), json: JSON.parse(text) };
}

function field(json, path) {
  const value = path.split('.').reduce((node, key) => (node !== null && typeof node === 'object' && Object.hasOwn(node, key) ? node[key] : undefined), json);
  if (typeof value !== 'string') throw Object.assign(new Error(`${path} is not a string field of the board config`), { code: 'USAGE' });
  return value;
}

async function run([command, file, path]) {
  if (file === undefined) throw Object.assign(new Error('usage: board.mjs prologue|fw-env|field FILE [PATH]'), { code: 'USAGE' });
  const { config, json } = await load(file);
  const { boardPrologue } = await boardModule();
  if (command === 'prologue') return boardPrologue(config);
  if (command === 'fw-env') return `# ${config.board}: ${config.env.source}\n${config.env.fwEnvConfig.join('\n')}\n`;
  if (command === 'field' && path !== undefined) return field(json, path);
  throw Object.assign(new Error(`unknown command ${JSON.stringify(command)}: prologue, fw-env or field`), { code: 'USAGE' });
}

try {
  process.stdout.write(await run(process.argv.slice(2)));
} catch (err) {
  // the validator lists each problem on its own line: keep the report to one line
  const message = String(err?.message ?? err).replace(/:\n\s+/, ': ').replace(/\n\s*/g, '; ');
  process.stderr.write(`board.mjs: [${err?.code ?? 'UNEXPECTED'}] ${message}\n`);
  process.exitCode = 1;
}
