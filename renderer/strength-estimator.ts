import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

// Its own chunk (megabytes of dictionaries), loaded the first time someone types a new password.
const factory = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...english.dictionary },
  graphs: common.adjacencyGraphs,
  translations: english.translations,
});

/** zxcvbn's score (0–4) and its hint, with words the password should not lean on. */
export function estimate(password: string, context: string[]): { score: number; hint: string | null } {
  const result = factory.check(password.normalize('NFKC'), context);
  return { score: result.score, hint: result.feedback.warning ?? result.feedback.suggestions[0] ?? null };
}
