import { randomUUID } from 'node:crypto';
import type { Revocation } from '../contracts.js';
import { administer, audit, liveSince, type EngineContext } from '../engine/context.js';
import type { Engine } from '../engine/engine.js';
import { endSessions } from '../oauth/end-sessions.js';
import { formatScope } from '../oauth/scope.js';
import { usernameKey } from '../store/username-key.js';
import { planProvisioning, type ProvisionChange, type ProvisionPlan } from './plan.js';
import { ProvisioningError } from './problems.js';
import type { ProvisionedClient, ProvisioningFile } from './schema.js';
import { validateProvisioningFile } from './validate.js';

export interface ProvisionOptions {
  /** Validate and report what would change, changing nothing. */
  dryRun?: boolean | undefined;
}

export interface ProvisionResult {
  version: number;
  /** `unchanged`: this file was applied already; nothing was written. */
  status: 'applied' | 'unchanged';
  dryRun: boolean;
  changes: ProvisionChange[];
}

/**
 * Applies a provisioning file (parsed JSON) to the engine's database, idempotently and atomically:
 * the same file again changes nothing; a newer version changes only what it changed; an older one
 * is refused; users it no longer lists are disabled (not deleted) and clients it no longer lists are
 * removed. A file with any problem is refused whole with ProvisioningError listing every problem;
 * otherwise every change is made in one write transaction and audited.
 */
export function provision(engine: Engine, file: unknown, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw new TypeError('options.dryRun must be true or false.');
  const dryRun = options.dryRun ?? false;
  return engine.withContext(async (ctx) => {
    const valid = validateProvisioningFile(file, ctx.policy.argon2);
    const plan = planProvisioning(ctx, valid);
    const result = { version: valid.version, dryRun, changes: plan.changes };
    if (plan.status === 'unchanged') return { ...result, status: 'unchanged' as const };
    if (dryRun) return { ...result, status: 'applied' as const };
    // argon2id in the worker pool, before the transaction: a write lock is never held while hashing.
    const oneTimeHashes = await hashOneTimePasswords(ctx, plan);
    const applied = apply(ctx, valid, oneTimeHashes);
    return { ...result, changes: applied, status: 'applied' as const };
  });
}

async function hashOneTimePasswords(ctx: EngineContext, plan: ProvisionPlan): Promise<Map<string, string>> {
  const wanted = plan.changes.flatMap((change) =>
    change.kind === 'user' && change.action !== 'disable' && change.fields.includes('password') ? [usernameKey(change.name)] : [],
  );
  const hashes = await Promise.all(
    wanted.map(async (key) => {
      const { oneTime } = plan.users.get(key)!.user.password;
      return [key, oneTime === undefined ? undefined : await ctx.hasher.hash(oneTime, 'app')] as const;
    }),
  );
  return new Map(hashes.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
}

/** Plans again inside the write transaction (another process may have provisioned meanwhile) and applies. */
function apply(ctx: EngineContext, file: ProvisioningFile, oneTimeHashes: Map<string, string>): ProvisionChange[] {
  const revocations: Revocation[] = [];
  const changes = administer(ctx, () => {
    const plan = planProvisioning(ctx, file);
    if (plan.status === 'unchanged') return [];
    const now = ctx.clock.now();
    for (const change of plan.changes) {
      if (change.kind === 'user') revocations.push(...applyUser(ctx, plan, change, oneTimeHashes, now));
      else if (change.kind === 'client') revocations.push(...applyClient(ctx, plan, change, now));
    }
    for (const [key, { item }] of plan.users) ctx.provisioning.putItem({ kind: 'user', name: key, fields_hash: item.fieldsHash, password_hash: item.passwordHash });
    for (const [id, { item }] of plan.clients) ctx.provisioning.putItem({ kind: 'client', name: id, fields_hash: item.fieldsHash, password_hash: null });
    for (const key of plan.released.users) ctx.provisioning.dropItem('user', key);
    for (const id of plan.released.clients) ctx.provisioning.dropItem('client', id);
    ctx.provisioning.write(plan.record);
    for (const change of plan.changes) if (change.kind !== 'user' && change.kind !== 'client') audit(ctx, { type: `provision.${change.kind}_set`, outcome: 'success' });
    audit(ctx, { type: 'provision.applied', outcome: 'success', detail: { version: plan.record.version, changes: plan.changes.length, contentHash: plan.record.content_hash } });
    return plan.changes;
  });
  ctx.publishRevocations(revocations);
  ctx.policyChanged();
  return changes;
}

function applyUser(
  ctx: EngineContext,
  plan: ProvisionPlan,
  change: Extract<ProvisionChange, { kind: 'user' }>,
  oneTimeHashes: Map<string, string>,
  now: number,
): Revocation[] {
  const key = usernameKey(change.name);
  if (change.action === 'disable') {
    const row = ctx.users.findByKey(key)!;
    const ended = endAll(ctx, row.id, row.username, 'user_disabled', now);
    ctx.users.setDisabled(row.id, true, now);
    audit(ctx, { type: 'provision.user_disabled', outcome: 'success', username: row.username, userId: row.id, detail: { reason: 'not in the file' } });
    return ended;
  }
  const { user } = plan.users.get(key)!;
  const passwordHash = user.password.hash ?? oneTimeHashes.get(key);
  if (change.fields.includes('password') && passwordHash === undefined) {
    throw new ProvisioningError(['(file): another process changed the database while this file was read; run the provisioning again']);
  }
  const mustChange = user.password.oneTime !== undefined;
  if (change.action === 'add') {
    const id = randomUUID();
    ctx.users.insert({ id, username: user.username.normalize('NFKC'), usernameKey: key, displayName: user.displayName ?? null, passwordHash: passwordHash!, scope: formatScope(user.scope), mustChangePassword: mustChange, now });
    if (user.disabled) ctx.users.setDisabled(id, true, now);
    audit(ctx, { type: 'provision.user_added', outcome: 'success', username: user.username, userId: id, detail: { oneTimePassword: mustChange } });
    return [];
  }
  const row = ctx.users.findByKey(key)!;
  const ended: Revocation[] = [];
  if (change.fields.includes('profile')) {
    ctx.users.setDisplayName(row.id, user.displayName ?? null, now);
    ctx.users.setScope(row.id, formatScope(user.scope), now);
    if (user.disabled && row.disabled === 0) ended.push(...endAll(ctx, row.id, row.username, 'user_disabled', now));
    ctx.users.setDisabled(row.id, user.disabled, now);
  }
  if (change.fields.includes('password')) {
    ended.push(...endAll(ctx, row.id, row.username, 'password_reset', now));
    ctx.users.setPassword(row.id, passwordHash!, mustChange, now);
    // As an administrator's reset does: a new password lifts a lock.
    ctx.throttle.clear(key);
  }
  audit(ctx, { type: 'provision.user_updated', outcome: 'success', username: row.username, userId: row.id, detail: { fields: change.fields.join(' ') } });
  return ended;
}

function applyClient(ctx: EngineContext, plan: ProvisionPlan, change: Extract<ProvisionChange, { kind: 'client' }>, now: number): Revocation[] {
  if (change.action === 'remove') {
    const ended = endSessions(ctx, ctx.sessions.liveSessionsOfClient(change.name, liveSince(now)).map((s) => s.id), 'client_removed', { clientId: change.name });
    ctx.clients.remove(change.name);
    audit(ctx, { type: 'provision.client_removed', outcome: 'success', clientId: change.name, detail: { reason: 'not in the file' } });
    return ended;
  }
  const { client } = plan.clients.get(change.name)!;
  const [secretHash, scope] = [secretHashOf(client), formatScope(client.scope)];
  if (change.action === 'add') ctx.clients.insert(client.id, secretHash, scope, client.grants, now);
  else ctx.clients.update(client.id, secretHash, scope, client.grants);
  audit(ctx, { type: `provision.client_${change.action === 'add' ? 'added' : 'updated'}`, outcome: 'success', clientId: client.id, detail: { confidential: secretHash !== null } });
  return [];
}

function secretHashOf(client: ProvisionedClient): Buffer | null {
  return client.secretSha256 === undefined ? null : Buffer.from(client.secretSha256, 'hex');
}

function endAll(ctx: EngineContext, userId: string, username: string, reason: 'user_disabled' | 'password_reset', now: number): Revocation[] {
  return endSessions(ctx, ctx.sessions.liveSessionsOf(userId, liveSince(now)).map((s) => s.id), reason, { username });
}
