import type { Engine } from '../engine/engine.js';

export const PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  keys: '/keys',
  token: '/token',
  revoke: '/revoke',
  introspect: '/introspect',
  password: '/password',
} as const;

/**
 * RFC 8414 authorization server metadata. `issuer` is the engine's, the very `iss` its tokens
 * carry; the endpoints are where this listener answers.
 */
export function authorizationServerMetadata(engine: Engine, baseUrl: string) {
  return {
    issuer: engine.issuer,
    token_endpoint: `${baseUrl}${PATHS.token}`,
    revocation_endpoint: `${baseUrl}${PATHS.revoke}`,
    introspection_endpoint: `${baseUrl}${PATHS.introspect}`,
    grant_types_supported: ['password', 'refresh_token'],
    // RFC 8414 requires the member; there is no authorization endpoint, so no response type.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    // Introspection is for confidential clients only.
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    paserk_keys_uri: `${baseUrl}${PATHS.keys}`,
  };
}

/** The public keys that may verify tokens, in the contract's shape (without the engine's verifyUntil). */
export function keysDocument(engine: Engine) {
  return { keys: engine.publishedKeys().map(({ paserk, pid, status }) => ({ paserk, pid, status })) };
}
