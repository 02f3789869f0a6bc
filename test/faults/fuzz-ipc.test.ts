import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_CALL_NAMES } from '../../dist/electron/index.js';
import type { IpcErrorCode } from '../../dist/index.js';
import { ADMIN_PASSWORD, harness, PASSWORD, signIn, type Harness } from '../ipc-helpers.js';
import { report, scaled, SEED } from './fault-kit.js';

// Property-based fuzzing of the IPC handlers' argument validation (createAppHandlers), called as
// the app's own main frame with arbitrary call names and arguments: signed out, and signed in as an
// administrator so that admin calls get as far as their arguments. Never a throw, never `internal`.

const INPUTS = scaled(3000);
/** Every code the contract documents, but `internal` (the IPC counterpart of a 5xx). */
const DOCUMENTED: readonly IpcErrorCode[] = [
  'invalid_argument', 'forbidden', 'invalid_credentials', 'throttled', 'password_change_required', 'policy_violation',
  'not_signed_in', 'locked', 'busy', 'not_found', 'conflict',
];
/** Every field name some call takes: objects of these get past the shape checks now and then. */
const FIELDS = ['username', 'password', 'staySignedIn', 'everywhere', 'currentPassword', 'newPassword', 'displayName', 'scopes', 'mustChangePassword', 'disabled', 'sessionId'];

function argument() {
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    // Not root: a reset or a wrong current password of the administrator would end the admin phase.
    fc.constantFrom('alice', 'nobody', 'records:read', 'admin', PASSWORD, 'amber falcon drifting north 93', ''),
    fc.boolean(),
    fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }),
    fc.anything({ maxDepth: 2 }),
  );
  return fc.oneof(
    fc.constant(undefined),
    fc.anything({ maxDepth: 3, withMap: true, withSet: true, withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: true }),
    fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, fc.string({ maxLength: 10 })), value, { maxKeys: 5 }),
  );
}

const callName = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...IPC_CALL_NAMES) }, fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'admin'));

/** Runs the property; `before` restores the phase's state before each input. */
async function fuzz(h: Harness, codes: Map<string, number>, before: () => Promise<void>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(callName, argument(), async (name, args) => {
      await before();
      let result;
      try {
        result = await h.call(name, args);
      } catch (error) {
        throw new Error(`${name} threw: ${String(error)}`);
      }
      const code = result.ok ? 'ok' : result.error.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (result.ok) return;
      expect(DOCUMENTED, `${name}(${fc.stringify(args).slice(0, 200)}): ${result.error.description}`).toContain(result.error.code);
      expect(typeof result.error.description).toBe('string');
    }),
    { numRuns: INPUTS, seed: SEED },
  );
}

describe('fuzzing the IPC handlers', () => {
  it(`answers ${INPUTS} arbitrary calls signed out and ${INPUTS} as an administrator with documented results only (seed ${SEED})`, async () => {
    const h = await harness();
    const codes = new Map<string, number>();
    const before = h.engine.hashEvaluations;
    await fuzz(h, codes, async () => {});
    await signIn(h, 'root', ADMIN_PASSWORD);
    await fuzz(h, codes, async () => {
      // A fuzzed signOut (or an idle lock) ends the admin phase's session: sign in again.
      const session = await h.call('getSession');
      if (session.ok && (session.session as { state: string }).state !== 'signed_in') {
        h.engine.users.unlock('root');
        await signIn(h, 'root', ADMIN_PASSWORD);
      }
    });
    const hashes = h.engine.hashEvaluations - before;
    expect(hashes, 'arguments that reach password hashing stay a few hundred').toBeLessThan(400);
    expect(h.logs, 'no unexpected error was logged').toEqual([]);
    report('fuzz.ipc-arguments', {
      inputs: INPUTS * 2,
      reachedHashing: hashes,
      results: [...codes].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}:${n}`).join(','),
      internal: 0,
    });
  });
});
