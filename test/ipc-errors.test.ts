import { describe, expect, it } from 'vitest';
import { AdminError, OAuthError, StoreError } from '../dist/index.js';
import { ipcError, toIpcError } from '../dist/electron/ipc-errors.js';

describe('IPC errors: what the renderer is told about a thrown error', () => {
  const logs: string[] = [];
  const map = (error: unknown) => toIpcError(error, 'someCall', (line) => logs.push(line));

  it('maps the engine\'s OAuth errors by code, keeping their descriptions and retry times', () => {
    expect(map(new OAuthError('invalid_grant', 'The username or password is incorrect.'))).toEqual({
      code: 'invalid_credentials',
      description: 'The username or password is incorrect.',
    });
    expect(map(new OAuthError('invalid_grant', 'Too many failed sign-ins. Try again in 30 seconds.', { retryAfter: 30 }))).toEqual({
      code: 'throttled',
      description: 'Too many failed sign-ins. Try again in 30 seconds.',
      retryAfter: 30,
    });
    expect(map(new OAuthError('password_change_required', 'Change it first.')).code).toBe('password_change_required');
    expect(map(new OAuthError('invalid_request', 'The new password was refused: Too short.', { policyViolations: ['Too short.'] }))).toEqual({
      code: 'policy_violation',
      description: 'The new password was refused: Too short.',
      policyViolations: ['Too short.'],
    });
    expect(map(new OAuthError('invalid_request', 'The password is too long.')).code).toBe('invalid_argument');
    expect(map(new OAuthError('server_error', 'Busy; try again in a moment.', { status: 503, retryAfter: 1 }))).toEqual({
      code: 'busy',
      description: 'Busy; try again in a moment.',
      retryAfter: 1,
    });
    expect(logs).toEqual([]);
  });

  it('maps administration errors by code', () => {
    expect(map(new AdminError('user_not_found', 'No user is named "x".'))).toEqual({ code: 'not_found', description: 'No user is named "x".' });
    expect(map(new AdminError('session_not_found', 'No session.')).code).toBe('not_found');
    expect(map(new AdminError('user_exists', 'Taken.')).code).toBe('conflict');
    expect(map(new AdminError('invalid_argument', 'Bad scope.')).code).toBe('invalid_argument');
    expect(map(new AdminError('password_policy', 'Refused.', ['Too short.']))).toEqual({ code: 'policy_violation', description: 'Refused.', policyViolations: ['Too short.'] });
    expect(map(ipcError('locked', 'Locked.'))).toEqual({ code: 'locked', description: 'Locked.' });
    expect(logs).toEqual([]);
  });

  it('answers anything else as `internal` with a generic sentence, logging one bounded line', () => {
    const others: unknown[] = [
      new OAuthError('server_error', 'A hash worker died.'),
      new OAuthError('invalid_client', 'Client authentication failed.'),
      new StoreError('corrupt', 'The database file is damaged.'),
      new TypeError(`line one\nline two ${'x'.repeat(1000)}`),
      'a string',
      undefined,
    ];
    for (const error of others) {
      const answer = map(error);
      expect(answer.code).toBe('internal');
      expect(answer.description).toMatch(/^Something went wrong/);
      expect(Object.keys(answer)).toEqual(['code', 'description']);
    }
    expect(logs).toHaveLength(others.length);
    for (const line of logs) {
      expect(line).toMatch(/^gatehouse: someCall failed: /);
      expect(line).not.toContain('\n');
      expect(line.length).toBeLessThan(400);
    }
  });
});
