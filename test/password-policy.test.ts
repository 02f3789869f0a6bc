import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, passwordStrength, passwordViolations } from '../dist/index.js';
import { blocklistSize } from '../dist/passwords/blocklist.js';

const rules = DEFAULT_POLICY.password;
const check = (password: string, username = 'alice') => passwordViolations(password, rules, { username });

describe('new-password policy (NIST SP 800-63B-4 §3.1.1.2)', () => {
  it('accepts long passphrases, in any script, with no composition rules', () => {
    for (const password of [
      'correct horse battery staple',
      'blue tiger lamp river',
      'all lowercase and no digits at all',
      'Ünïcödé pässwörd wïth àccents',
      '日本語のパスワードはとても長いです',
      'x'.repeat(14) + 'y', // 15 characters, nothing more asked
    ]) {
      expect(check(password), password).toEqual([]);
    }
  });

  it('counts length in code points after NFKC: 15 at least, 64 and more allowed, bytes capped', () => {
    const emoji = (n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x1f400 + 3 * i)).join('');
    expect(check(emoji(14))).toEqual(['Use at least 15 characters (this has 14).']);
    expect(check(emoji(15))).toEqual([]); // 30 UTF-16 units, 60 bytes: still 15 characters
    expect(check(emoji(64))).toEqual([]);
    // A decomposed é (e + combining acute) composes to one character under NFKC.
    expect(check('cafe\u0301 on the corner')).toEqual([]);
    expect(check('caf\u00e9 caf\u00e9 ok')).toEqual(['Use at least 15 characters (this has 12).']);
    expect(check('cafe\u0301 cafe\u0301 ok')).toEqual(['Use at least 15 characters (this has 12).']);
    expect(check('x'.repeat(257))).toEqual(['Use at most 256 characters (this has 257).']);
  });

  it('refuses blocklisted passwords, including entries of 15 or more characters and their width variants', () => {
    expect(blocklistSize()).toBeGreaterThan(40_000);
    for (const listed of ['123456789987654321', '1qaz2wsx3edc4rfv', 'qazwsxedcrfvtgb', 'mailcreated5240', '１２３４５６７８９９８７６５４３２１']) {
      expect(check(listed), listed).toEqual(['This password is on a list of commonly used passwords.']);
    }
  });

  it('refuses predictable variations: digits or symbols around a listed word, two listed words, repetition, runs', () => {
    expect(check('password12345678')).toEqual(['This is a common password with only digits or symbols added.']);
    expect(check('Password12345678!')).toEqual(['This is a common password with only digits or symbols added.']);
    expect(check('sunshineprincess')).toEqual(['This is two common passwords run together.']);
    expect(check('qwertyuiopasdfgh')).toEqual(['This is two common passwords run together.']);
    expect(check('1111111111111111')).toEqual(['Do not repeat a word or a pattern to make a password long.']);
    expect(check('iloveyouiloveyou')).toEqual(['Do not repeat a word or a pattern to make a password long.']);
    expect(check('abcdefghijklmnopq')).toEqual(['Do not use a run of characters like aaaa, abcd or 9876.']);
    expect(check('zyxwvutsrqponmlk')).toEqual(['Do not use a run of characters like aaaa, abcd or 9876.']);
  });

  it('refuses context words: the username (case- and width-insensitively) and the app name', () => {
    expect(check('my name is alice, hello there')).toEqual(['Do not use your username in your password.']);
    expect(check('my name is ＡＬＩＣＥ, hello there')).toEqual(['Do not use your username in your password.']);
    expect(check('my gatehouse password here')).toEqual(['Do not use the word "gatehouse" in your password.']);
    const custom = { ...rules, contextWords: ['Contoso'] };
    expect(passwordViolations('contoso rules the world', custom)).toEqual(['Do not use the word "Contoso" in your password.']);
    // A username shorter than three characters would refuse too much to be useful as a context word.
    expect(passwordViolations('a quiet evening by the sea', rules, { username: 'a' })).toEqual([]);
  });

  it('gives every reason at once', () => {
    expect(check('alice')).toEqual([
      'Use at least 15 characters (this has 5).',
      'Do not use your username in your password.',
      'This password is on a list of commonly used passwords.',
    ]);
  });

  it('offers strength guidance a UI can show, which never refuses anything by itself', () => {
    const strong = passwordStrength('correct horse battery staple', ['alice']);
    expect(strong).toMatchObject({ score: 4, warning: null });
    const weak = passwordStrength('alicealice123456', ['alice']);
    expect(weak.score).toBeLessThanOrEqual(1);
    expect(weak.warning).toEqual(expect.any(String));
  });
});
