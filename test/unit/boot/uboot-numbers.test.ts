import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setexpr, simpleStrtol, simpleStrtoul, ubootTest } from '../../../agent/src/boot/uboot-numbers.js';

const noFiles = (): boolean => false;
const t = (...args: string[]): boolean => ubootTest(args, noFiles) === 0;

test('setexpr reads hex and prints hex without 0x', () => {
  assert.is(setexpr(['10', '-', '1'], 64), 'f');
  assert.is(setexpr(['9', '+', '1'], 64), 'a');
  assert.is(setexpr(['0x10', '+', '0'], 64), '10');
  assert.is(setexpr(['ff'], 64), 'ff', 'plain assignment normalises to hex');
  assert.is(setexpr(['3', '*', '4'], 64), 'c');
});

test('setexpr wraps below zero at the width of ulong, and refuses bad usage', () => {
  assert.is(setexpr(['0', '-', '1'], 64), 'ffffffffffffffff');
  assert.is(setexpr(['0', '-', '1'], 32), 'ffffffff');
  assert.is(setexpr(['1', '/', '0'], 64), null);
  assert.is(setexpr(['1', '-'], 64), null);
  assert.is(setexpr(['1', '--', '1'], 64), null);
  assert.is(setexpr([], 64), null);
});

test('test reads decimal (0x hex, leading 0 octal) and stops at the first non-digit', () => {
  assert.is(simpleStrtol('f'), 0n);
  assert.is(simpleStrtol('10'), 10n);
  assert.is(simpleStrtol('0x10'), 16n);
  assert.is(simpleStrtol('010'), 8n);
  assert.is(simpleStrtol('-3'), -3n);
  assert.is(simpleStrtoul('1f', 16), 31n);
  assert.not.ok(t('f', '-gt', '0'), 'the trap: setexpr wrote f, test reads 0');
  assert.ok(t('a', '-eq', '0'));
  assert.ok(t('9', '-gt', '0'));
  assert.ok(t('0x10', '-gt', '9'));
});

test('test string operators, negation, -a and -o left to right', () => {
  assert.ok(t('-z', ''));
  assert.ok(t('-n', 'x'));
  assert.ok(t('xA', '=', 'xA'));
  assert.ok(t('!', 'xA', '=', 'xB'));
  assert.ok(t('-n', 'x', '-a', 'a', '!=', 'b'));
  assert.not.ok(t('-z', 'x', '-o', 'a', '=', 'b'));
  assert.ok(t('-z', 'x', '-o', 'a', '=', 'a'));
});

test('test quirks: fewer than two words is false, an expression it cannot parse is true', () => {
  assert.not.ok(t('x'));
  assert.not.ok(t());
  assert.ok(t('-gt', '0'), 'an empty unquoted variable vanished: U-Boot returns success');
});

test('test -e asks the file world', () => {
  assert.ok(ubootTest(['-e', 'virtio', '0:1', '/boot.scr'], (i, d, p) => `${i} ${d} ${p}` === 'virtio 0:1 /boot.scr') === 0);
  assert.ok(ubootTest(['-e', 'virtio', '0:1', '/x'], () => false) === 1);
});

test.run();
