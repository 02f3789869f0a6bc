import { createRequire } from 'node:module';

/**
 * The offline blocklist: the 49,233 most common passwords that zxcvbn-ts ships
 * (@zxcvbn-ts/language-common, MIT licence, drawn from leaked password corpora). It is loaded on
 * first use, as a Set, so every check is a few hash lookups.
 */
let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    // Loaded lazily and synchronously: only code that sets passwords pays for it.
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<'passwords-common', string[]> };
    common = new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  }
  return common;
}

/** How many entries the blocklist holds (loads it). */
export function blocklistSize(): number {
  return commonPasswords().size;
}

/**
 * Why a (normalised) password is too predictable to allow, or undefined. NIST SP 800-63B-4
 * §3.1.1.2 asks for a blocklist of common, repetitive or sequential values; this checks the list
 * itself, a listed password with only digits or symbols around it, two listed passwords run
 * together, one pattern repeated, and a straight run of characters (aaaa, abcd, 9876).
 */
export function predictability(password: string): string | undefined {
  const lower = password.toLowerCase();
  const list = commonPasswords();
  if (list.has(lower)) return 'This password is on a list of commonly used passwords.';
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  if (core.length >= 4 && core !== lower && list.has(core)) {
    return 'This is a common password with only digits or symbols added.';
  }
  for (const candidate of new Set([lower, core])) {
    if (isRepetition(candidate)) return 'Do not repeat a word or a pattern to make a password long.';
    if (joinsTwoListed(candidate, list)) return 'This is two common passwords run together.';
  }
  if (isRun(lower)) return 'Do not use a run of characters like aaaa, abcd or 9876.';
  return undefined;
}

/** The whole string is one shorter unit said twice or more. */
function isRepetition(value: string): boolean {
  const chars = [...value];
  for (let unit = 1; unit <= chars.length / 2; unit++) {
    if (chars.length % unit !== 0) continue;
    if (chars.every((c, i) => c === chars[i % unit])) return true;
  }
  return false;
}

function joinsTwoListed(value: string, list: ReadonlySet<string>): boolean {
  for (let cut = 3; cut <= value.length - 3; cut++) {
    if (list.has(value.slice(0, cut)) && list.has(value.slice(cut))) return true;
  }
  return false;
}

/** Every character is the previous one plus the same step of -1, 0 or +1. */
function isRun(value: string): boolean {
  const points = [...value].map((c) => c.codePointAt(0)!);
  if (points.length < 4) return false;
  const step = points[1]! - points[0]!;
  return Math.abs(step) <= 1 && points.every((p, i) => i === 0 || p - points[i - 1]! === step);
}
