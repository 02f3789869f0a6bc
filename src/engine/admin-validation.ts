import { checkScopeNames } from '../oauth/scope.js';
import { AdminError } from './admin-error.js';

/** Validates a list of scope names; a string would be split into characters, so it is refused. */
export function scopeOf(scope: readonly string[] | undefined): string[] {
  if (scope !== undefined && !Array.isArray(scope)) {
    throw new AdminError('invalid_argument', 'Scope must be given as a list of scope names.');
  }
  try {
    return checkScopeNames(scope ?? []);
  } catch (error) {
    throw new AdminError('invalid_argument', (error as Error).message);
  }
}
