import type { EngineContext } from '../engine/context.js';
import { formatScope } from '../oauth/scope.js';
import type { ProvisioningRow } from '../store/provisioning.js';
import { usernameKey } from '../store/username-key.js';
import { canonicalJson, contentHash } from './hashes.js';
import { problem, ProvisioningError } from './problems.js';
import type { ProvisionedClient, ProvisionedUser, ProvisioningFile } from './schema.js';

/** One change a provisioning run makes (or, in a dry run, would make). */
export type ProvisionChange =
  | { kind: 'user'; name: string; action: 'add' | 'update'; fields: Array<'profile' | 'password'> }
  | { kind: 'user'; name: string; action: 'disable' }
  | { kind: 'client'; name: string; action: 'add' | 'update' | 'remove' }
  | { kind: 'policy' | 'app' | 'scopes'; action: 'set' };

export interface ProvisionedItem {
  fieldsHash: string;
  passwordHash: string | null;
}

/** What applying a file to the database as it is now means. */
export interface ProvisionPlan {
  /** `unchanged`: this very file was applied last; nothing is to be done. */
  status: 'unchanged' | 'changes';
  record: ProvisioningRow;
  changes: ProvisionChange[];
  users: Map<string, { user: ProvisionedUser; item: ProvisionedItem }>;
  clients: Map<string, { client: ProvisionedClient; item: ProvisionedItem }>;
  /** Users and clients provisioned before that the file no longer lists (username keys, client ids). */
  released: { users: string[]; clients: string[] };
}

/**
 * Compares the file with what the last applied file provisioned: only what the file changed since
 * is to change (a password a user chose since an unchanged entry stays). Refuses an older version,
 * and the same version with other content (a changed file must say so with a higher version).
 */
export function planProvisioning(ctx: EngineContext, file: ProvisioningFile): ProvisionPlan {
  const { $schema: _ignored, ...content } = file;
  const record: ProvisioningRow = {
    version: file.version,
    content_hash: contentHash('file', content),
    policy: canonicalJson(file.policy),
    app_settings: canonicalJson(file.app),
    scopes: formatScope(file.scopes),
    applied_at: ctx.clock.now(),
  };
  const last = ctx.provisioning.read();
  const plan: ProvisionPlan = { status: 'changes', record, changes: [], users: new Map(), clients: new Map(), released: { users: [], clients: [] } };
  if (last && file.version < last.version) {
    throw new ProvisioningError([problem(['version'], `${file.version} is older than version ${last.version}, which was applied already`)]);
  }
  if (last && file.version === last.version) {
    if (last.content_hash === record.content_hash) return { ...plan, status: 'unchanged' };
    throw new ProvisioningError([problem(['version'], `version ${file.version} was applied already with other content: give this file a higher version`)]);
  }
  planUsers(ctx, file, plan);
  planClients(ctx, file, plan);
  if (record.policy !== (last?.policy ?? '{}')) plan.changes.push({ kind: 'policy', action: 'set' });
  if (record.app_settings !== (last?.app_settings ?? '{}')) plan.changes.push({ kind: 'app', action: 'set' });
  if (record.scopes !== (last?.scopes ?? '')) plan.changes.push({ kind: 'scopes', action: 'set' });
  return plan;
}

function planUsers(ctx: EngineContext, file: ProvisioningFile, plan: ProvisionPlan): void {
  const before = ctx.provisioning.items('user');
  for (const user of file.users) {
    const key = usernameKey(user.username);
    const item: ProvisionedItem = {
      fieldsHash: contentHash('user', { displayName: user.displayName ?? null, scope: sorted(user.scope), disabled: user.disabled }),
      // Salted with the installation and the name: no two databases or accounts share a value.
      passwordHash: contentHash('password', ctx.installationId, key, user.password),
    };
    plan.users.set(key, { user, item });
    const row = ctx.users.findByKey(key);
    const last = before.get(key);
    if (!row) plan.changes.push({ kind: 'user', name: user.username, action: 'add', fields: ['profile', 'password'] });
    else if (!last) plan.changes.push({ kind: 'user', name: user.username, action: 'update', fields: ['profile', 'password'] });
    else {
      const fields: Array<'profile' | 'password'> = [];
      if (last.fields_hash !== item.fieldsHash) fields.push('profile');
      if (last.password_hash !== item.passwordHash) fields.push('password');
      if (fields.length > 0) plan.changes.push({ kind: 'user', name: user.username, action: 'update', fields });
    }
  }
  for (const key of before.keys()) {
    if (plan.users.has(key)) continue;
    plan.released.users.push(key);
    const row = ctx.users.findByKey(key);
    if (row && row.disabled === 0) plan.changes.push({ kind: 'user', name: row.username, action: 'disable' });
  }
}

function planClients(ctx: EngineContext, file: ProvisioningFile, plan: ProvisionPlan): void {
  const before = ctx.provisioning.items('client');
  for (const client of file.clients) {
    const item: ProvisionedItem = {
      fieldsHash: contentHash('client', { secretSha256: client.secretSha256 ?? null, scope: sorted(client.scope), grants: sorted(client.grants) }),
      passwordHash: null,
    };
    plan.clients.set(client.id, { client, item });
    const exists = ctx.clients.find(client.id) !== undefined;
    if (!exists) plan.changes.push({ kind: 'client', name: client.id, action: 'add' });
    else if (before.get(client.id)?.fields_hash !== item.fieldsHash) plan.changes.push({ kind: 'client', name: client.id, action: 'update' });
  }
  for (const id of before.keys()) {
    if (plan.clients.has(id)) continue;
    plan.released.clients.push(id);
    if (ctx.clients.find(id)) plan.changes.push({ kind: 'client', name: id, action: 'remove' });
  }
}

function sorted(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}
