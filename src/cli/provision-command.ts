import { existsSync } from 'node:fs';
import { DEFAULT_POLICY } from '../engine/policy.js';
import { provision, type ProvisionResult } from '../provisioning/provision.js';
import { validateProvisioningFile } from '../provisioning/validate.js';
import type { ProvisionChange } from '../provisioning/plan.js';
import { ProvisioningError } from '../provisioning/problems.js';
import { readProvisioningFile } from '../provisioning/read-file.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';
import { flag } from './option-values.js';
import { reply } from './output.js';
import { withEngine } from './with-engine.js';

/**
 * `gatehouse provision FILE [--dry-run]`: applies a provisioning file; a refused file exits 1 with
 * every problem on stderr, one line each. A dry run on a database that does not exist yet checks the
 * file against an empty one in memory, so it never creates a file. (The CLI's engine runs on the
 * default policy, so DEFAULT_POLICY's argon2 parameters are those imported hashes must meet.)
 */
export async function provisionCommand({ io, args, values, json, db }: CommandContext): Promise<void> {
  const path = args[0]!;
  const dryRun = flag(values, 'dry-run');
  try {
    const file = await readProvisioningFile(path);
    const exists = existsSync(db);
    // A refused file must not leave a new, empty database behind: check it before one is created.
    if (!exists) validateProvisioningFile(file, DEFAULT_POLICY.argon2);
    const target = dryRun && !exists ? ':memory:' : db;
    const result = await withEngine(target, true, (engine) => provision(engine, file, { dryRun }));
    reply(io, json, result, describe(result));
  } catch (error) {
    if (!(error instanceof ProvisioningError)) throw error;
    throw new CliError('refused', `${path} was refused (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}); nothing was changed:`, error.problems);
  }
}

function describe(result: ProvisionResult): string {
  if (result.status === 'unchanged') return `Provisioning version ${result.version} is applied already; nothing changed.`;
  const head = result.dryRun
    ? `Dry run: version ${result.version} would make ${count(result.changes)}; nothing was changed.`
    : `Applied provisioning version ${result.version}: ${count(result.changes)}.`;
  return [head, ...result.changes.map((change) => `  ${line(change)}`)].join('\n');
}

function count(changes: readonly ProvisionChange[]): string {
  return `${changes.length} change${changes.length === 1 ? '' : 's'}`;
}

function line(change: ProvisionChange): string {
  if (!('name' in change)) return `${change.kind}: set`;
  const fields = 'fields' in change && change.action === 'update' ? ` (${change.fields.join(', ')})` : '';
  return `${change.kind} ${change.name}: ${change.action}${fields}`;
}
