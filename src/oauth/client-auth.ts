import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientCredentials, GrantType } from '../contracts.js';
import { clientGrants, type ClientRepository, type ClientRow } from '../store/clients.js';
import { OAuthError } from './errors.js';

/** What the transport took from an `Authorization: Basic` header (already decoded). */
export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

/** invalid_client, always 401 with a Basic challenge (RFC 6749 §5.2). */
export function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', description, { headers: BASIC_CHALLENGE });
}

/**
 * Decodes an Authorization header value of the Basic scheme. Per RFC 6749 §2.3.1 the client id and
 * secret are form-urlencoded before being joined and base64-encoded. Undefined if it is not Basic.
 */
export function parseBasicAuthorization(header: string): BasicCredentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!/^Basic(\s|$)/i.test(header)) return undefined;
  if (!match) throw invalidClient('The Basic credentials are malformed.');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Basic credentials are malformed.');
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('The Basic credentials are malformed.');
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Works out how the client identified itself: Basic, client_secret in the body, or (public clients)
 * client_id alone. Using two methods at once is invalid_request (RFC 6749 §2.3).
 */
export function clientCredentialsFrom(params: Map<string, string>, basic?: BasicCredentials): ClientCredentials {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (basic) {
    if (bodySecret !== undefined) {
      throw new OAuthError('invalid_request', 'Use one client authentication method, not Basic and client_secret both.');
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'The client_id parameter does not match the Basic credentials.');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (bodyId === undefined) {
    throw invalidClient(
      bodySecret === undefined ? 'Client authentication is required.' : 'The client_id parameter is missing.',
    );
  }
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret };
  return { method: 'none', clientId: bodyId };
}

/** SHA-256 of a client secret, as stored (client secrets are random, so no slow hash is needed). */
export function hashClientSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A new 256-bit client secret, base64url. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Authenticates a client against the registry; confidential clients must present their secret. */
export function authenticateClient(clients: ClientRepository, credentials: ClientCredentials): ClientRow {
  const client = clients.find(credentials.clientId);
  if (!client) throw invalidClient('The client is unknown or its credentials are wrong.');
  if (client.secret_hash === null) {
    if (credentials.method !== 'none') throw invalidClient('The client is unknown or its credentials are wrong.');
    return client;
  }
  if (credentials.method === 'none') throw invalidClient('This client must authenticate with its secret.');
  const presented = hashClientSecret(credentials.clientSecret);
  if (!timingSafeEqual(presented, client.secret_hash)) {
    throw invalidClient('The client is unknown or its credentials are wrong.');
  }
  return client;
}

export function requireGrant(client: ClientRow, grant: GrantType): void {
  if (!clientGrants(client).includes(grant)) {
    throw new OAuthError('unauthorized_client', `This client is not registered for the ${grant} grant.`);
  }
}
