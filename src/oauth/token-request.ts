import type { RequestParams, TokenResponse } from '../contracts.js';
import type { EngineContext } from '../engine/context.js';
import type { HashPriority } from '../passwords/hash-pool.js';
import { authenticateClient, clientCredentialsFrom, requireGrant, type BasicCredentials } from './client-auth.js';
import { OAuthError } from './errors.js';
import { readParams, required } from './params.js';
import { passwordGrant } from './password-grant.js';
import { refreshGrant } from './refresh-grant.js';
import { parseScope } from './scope.js';

/**
 * The token endpoint, transport-neutral: takes the form parameters and any decoded Basic
 * credentials, answers an RFC 6749 §5.1 response or throws an OAuthError (§5.2).
 */
export async function tokenRequest(
  ctx: EngineContext,
  input: RequestParams,
  basic: BasicCredentials | undefined,
  priority: HashPriority,
): Promise<TokenResponse> {
  const params = readParams(input);
  const grantType = required(params, 'grant_type');
  const client = authenticateClient(ctx.clients, clientCredentialsFrom(params, basic));
  const scope = () => {
    const value = params.get('scope');
    return value === undefined ? undefined : parseScope(value);
  };
  switch (grantType) {
    case 'password':
      requireGrant(client, 'password');
      return passwordGrant(ctx, client, {
        username: required(params, 'username'),
        password: required(params, 'password'),
        scope: scope(),
        priority,
      });
    case 'refresh_token':
      requireGrant(client, 'refresh_token');
      return refreshGrant(ctx, client, { refreshToken: required(params, 'refresh_token'), scope: scope() });
    default:
      throw new OAuthError('unsupported_grant_type', 'Supported grant types are password and refresh_token.');
  }
}
