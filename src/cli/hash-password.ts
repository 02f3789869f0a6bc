import { DEFAULT_POLICY } from '../engine/policy.js';
import { HashPool } from '../passwords/hash-pool.js';
import { PasswordHasher } from '../passwords/hasher.js';
import { passwordViolations } from '../passwords/policy.js';
import { CliError } from './errors.js';
import type { CommandIo } from './io.js';
import { readStdin } from './stdin.js';

/** `gatehouse hash-password`: password on stdin, prints an argon2id PHC string for provisioning. */
export async function hashPassword(io: CommandIo, json: boolean): Promise<void> {
  const password = await readStdin(io.stdin);
  const violations = passwordViolations(password, DEFAULT_POLICY.password);
  if (violations.length > 0) throw new CliError('refused', `The password was refused: ${violations.join(' ')}`);
  const hasher = new PasswordHasher(DEFAULT_POLICY.argon2, new HashPool(1));
  try {
    const hash = await hasher.hash(password, 'app');
    io.stdout.write(json ? `${JSON.stringify({ hash })}\n` : `${hash}\n`);
  } finally {
    await hasher.close();
  }
}
