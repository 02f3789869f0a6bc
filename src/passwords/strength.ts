import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/** Guidance a UI can show while someone types a new password (never a reason to refuse one). */
export interface PasswordStrength {
  /** 0 (too guessable) to 4 (very unguessable), as zxcvbn rates it. */
  score: 0 | 1 | 2 | 3 | 4;
  /** log10 of the estimated guesses needed. */
  guessesLog10: number;
  /** Why it is weak, if it is; null otherwise. */
  warning: string | null;
  /** What would make it stronger. */
  suggestions: string[];
}

let estimator: ZxcvbnFactory | undefined;

/**
 * zxcvbn-ts's estimate (common passwords, English words and names, keyboard patterns, dates,
 * l33t). `context` holds words the password should not lean on: the username, the app's name.
 * It takes ~250 ms to set up on first use and up to ~100 ms a call: run it where a pause does no
 * harm (the renderer, as someone types), not on a thread that serves sign-ins.
 */
export function passwordStrength(password: string, context: readonly string[] = []): PasswordStrength {
  estimator ??= createEstimator();
  const result = estimator.check(password.normalize('NFKC'), [...context]);
  return {
    score: result.score,
    guessesLog10: result.guessesLog10,
    warning: result.feedback.warning,
    suggestions: result.feedback.suggestions,
  };
}

/** Loaded on first use: its dictionaries are megabytes that most processes never need. */
function createEstimator(): ZxcvbnFactory {
  const require = createRequire(import.meta.url);
  const { ZxcvbnFactory: Factory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const english = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  return new Factory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  });
}
