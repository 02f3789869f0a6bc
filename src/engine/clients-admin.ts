import type { ClientInfo, GrantType } from '../contracts.js';
import { generateClientSecret, hashClientSecret } from '../oauth/client-auth.js';
import { endSessions } from '../oauth/end-sessions.js';
import { formatScope } from '../oauth/scope.js';
import { toClientInfo, type ClientRow } from '../store/clients.js';
import { AdminError } from './admin-error.js';
import { administer, assertOpen, audit, liveSince, type EngineContext } from './context.js';
import { scopeOf } from './admin-validation.js';

export interface NewClientInput {
  id: string;
  /**
   * How the client authenticates: `generate` makes a 256-bit secret (returned once), a string sets
   * one (at least 32 characters), `none` registers a public client that sends only its client_id.
   */
  secret: 'generate' | 'none' | { value: string };
  scope?: readonly string[] | undefined;
  /** Default: both grants. Empty for a resource server that only introspects and revokes. */
  grants?: readonly GrantType[] | undefined;
}

const GRANTS: readonly GrantType[] = ['password', 'refresh_token'];
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;
const MIN_SECRET_LENGTH = 32;

/** Client registry administration. Secrets are stored only as SHA-256. */
export class ClientsAdmin {
  constructor(private readonly ctx: EngineContext) {}

  /** Registers a client; `secret` is in the result only when it was generated here. */
  add(input: NewClientInput): { client: ClientInfo; secret?: string } {
    assertOpen(this.ctx);
    if (typeof input !== 'object' || input === null || typeof input.id !== 'string' || !CLIENT_ID.test(input.id)) {
      throw new AdminError('invalid_argument', 'A client id must be 1 to 128 visible ASCII characters.');
    }
    if (input.grants !== undefined && !Array.isArray(input.grants)) {
      throw new AdminError('invalid_argument', 'Grants must be given as a list.');
    }
    const grants = [...new Set(input.grants ?? GRANTS)];
    const unknown = grants.filter((grant) => !GRANTS.includes(grant));
    if (unknown.length > 0) {
      throw new AdminError('invalid_argument', `Grants must be among: ${GRANTS.join(', ')} (or none, for a client that only introspects).`);
    }
    const scope = formatScope(scopeOf(input.scope));
    let secret: string | undefined;
    if (input.secret === 'generate') secret = generateClientSecret();
    else if (input.secret !== 'none') {
      if (typeof input.secret !== 'object' || input.secret === null || typeof input.secret.value !== 'string') {
        throw new AdminError('invalid_argument', "A client's secret must be 'generate', 'none' or { value: string }.");
      }
      if (input.secret.value.length < MIN_SECRET_LENGTH) {
        throw new AdminError('invalid_argument', `A client secret must be at least ${MIN_SECRET_LENGTH} characters.`);
      }
      secret = input.secret.value;
    }
    const secretHash = secret === undefined ? null : hashClientSecret(secret);
    administer(this.ctx, () => {
      if (this.ctx.clients.find(input.id)) throw new AdminError('client_exists', `A client "${input.id}" already exists.`);
      this.ctx.clients.insert(input.id, secretHash, scope, grants, this.ctx.clock.now());
      audit(this.ctx, { type: 'admin.client_added', outcome: 'success', clientId: input.id, detail: { confidential: secret !== undefined } });
    });
    const client = toClientInfo(this.ctx.clients.find(input.id)!);
    return input.secret === 'generate' && secret !== undefined ? { client, secret } : { client };
  }

  list(): ClientInfo[] {
    assertOpen(this.ctx);
    return this.ctx.clients.list().map(toClientInfo);
  }

  get(id: string): ClientInfo {
    assertOpen(this.ctx);
    return toClientInfo(this.find(id));
  }

  private find(id: string): ClientRow {
    const row = this.ctx.clients.find(id);
    if (!row) throw new AdminError('client_not_found', `No client is registered as "${id}".`);
    return row;
  }

  /** Removes a client and ends every session it holds. */
  remove(id: string): void {
    assertOpen(this.ctx);
    const revocations = administer(this.ctx, () => {
      this.find(id);
      const now = this.ctx.clock.now();
      const live = this.ctx.sessions.liveSessionsOfClient(id, liveSince(now));
      const ended = endSessions(this.ctx, live.map((s) => s.id), 'client_removed', { clientId: id });
      this.ctx.clients.remove(id);
      audit(this.ctx, { type: 'admin.client_removed', outcome: 'success', clientId: id });
      return ended;
    });
    this.ctx.publishRevocations(revocations);
  }
}
