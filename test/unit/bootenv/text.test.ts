import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { envChangesFromText, envVarsFromText, parseEnvText } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

function textError(text: string): OtaError {
  try {
    parseEnvText(text, 'script.txt');
  } catch (err) {
    if (err instanceof OtaError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

test('name=value lines; comments, blank lines and CRs skipped; value keeps = and spaces', () => {
  const entries = parseEnvText('# comment\n\na=1\r\nbootargs=console=ttyS0 quiet\nempty=\n', 'f');
  assert.equal(entries.map((e) => [e.name, e.value, e.line]), [['a', '1', 3], ['bootargs', 'console=ttyS0 quiet', 4], ['empty', '', 5]]);
});

test('a line without = is refused (libubootenv would silently set an empty value), naming the line', () => {
  const err = textError('a=1\nkey value\n');
  assert.is(err.code, 'ENV_TEXT');
  assert.match(err.message, 'script.txt line 2: "key value" has no \'=\'');
  assert.is(textError('=value\n').code, 'ENV_TEXT', 'empty name');
});

test('a script: name= deletes (null), duplicates keep the last; a default env leaves empty variables out', () => {
  assert.equal(envChangesFromText('a=1\nb=\na=2\n__proto__=x\n', 's'), Object.fromEntries([['a', '2'], ['b', null], ['__proto__', 'x']]));
  assert.equal([...envVarsFromText('a=1\nb=2\nc=3\nb=\na=4\n', 'd')], [['a', '4'], ['c', '3']]);
});

test.run();
