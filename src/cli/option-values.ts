import type { GrantType } from '../contracts.js';
import { checkScopeNames } from '../oauth/scope.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';

type Values = CommandContext['values'];

const GRANTS: readonly GrantType[] = ['password', 'refresh_token'];

/** A string option's value, if it was given. */
export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A boolean option: true only if it was given. */
export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** Commands that take a password say so with --password-stdin, so nobody types it as an argument. */
export function requirePasswordStdin(values: Values, command: string): void {
  if (!flag(values, 'password-stdin')) {
    throw new CliError('usage', `gatehouse ${command} reads the password from standard input: give --password-stdin.`);
  }
}

/** `--scope "a b"`: scope names separated by spaces (none for an empty string). */
export function scopeOption(values: Values): string[] | undefined {
  const value = stringOption(values, 'scope');
  if (value === undefined) return undefined;
  const names = value.trim() === '' ? [] : value.trim().split(/\s+/);
  try {
    return checkScopeNames(names);
  } catch (error) {
    throw new CliError('usage', `--scope: ${(error as Error).message}`);
  }
}

/** `--grants password,refresh_token`: a comma-separated list of grants ("" for none). */
export function grantsOption(values: Values): GrantType[] | undefined {
  const value = stringOption(values, 'grants');
  if (value === undefined) return undefined;
  if (value.trim() === '') return [];
  const grants = value.split(',').map((grant) => grant.trim());
  const unknown = grants.find((grant) => !GRANTS.includes(grant as GrantType));
  if (unknown !== undefined) {
    throw new CliError('usage', `--grants takes a comma-separated list of ${GRANTS.join(', ')} ("${unknown}" is not one).`);
  }
  return grants as GrantType[];
}
