// Gatehouse quick start: the whole engine lifecycle in one runnable script.
//
//   npm run example        (builds dist/ first)
//   node examples/quick-start.mjs   (when dist/ is already built)
//
// It opens an engine on a database in a new temporary directory, registers a public first-party
// client and a confidential one, adds a user, signs in with the password grant, verifies and
// introspects the access token, refreshes (the refresh token rotates), revokes the refresh token
// (the engine emits a revocation event), shows refresh-token reuse detection, and closes.
// test/example.test.ts runs this file and checks the lines it prints, so it stays true.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, OAuthError, TokenError } from '../dist/index.js';

const PASSWORD = 'correct horse battery staple'; // 28 characters: the default policy wants at least 15

/** Prints a token without giving it away whole. */
const short = (token) => `${token.slice(0, 24)}… (${token.length} chars)`;
const step = (title) => console.log(`\n== ${title}`);

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-quick-start-'));
let engine;
try {
  step('Open the engine');
  // Creates the SQLite file (mode 0600) and its schema, and starts an in-memory signing key.
  engine = await openEngine({ path: join(dir, 'auth.db') });
  console.log(`engine opened: ${join(dir, 'auth.db')}`);
  console.log(`  issuer   ${engine.issuer}`);
  console.log(`  audience ${engine.audience}`);
  console.log(`  access tokens live ${engine.policy.accessTokenTtlSeconds} s`);

  // Revocations are pushed to listeners (e.g. a resource service) the moment they are committed.
  engine.on('revocation', (revocations) => {
    for (const r of revocations) {
      console.log(`  revocation event: ${r.kind}=${r.value} (honour until ${new Date(r.expiresAt).toISOString()})`);
    }
  });

  step('Register clients and a user');
  // The app itself: a public client (it sends only its client_id) allowed the password grant.
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read', 'records:write'] });
  console.log('client registered: desktop (public)');
  // A resource server that introspects tokens: a confidential client with a generated secret,
  // returned only this once (only its SHA-256 is stored), and no grants, so it can obtain no tokens.
  const { secret } = engine.clients.add({ id: 'records-service', secret: 'generate', grants: [] });
  const service = { clientId: 'records-service', clientSecret: secret };
  console.log(`client registered: records-service (confidential, secret ${secret.length} chars)`);

  const alice = await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  console.log(`user added: ${alice.username} (id ${alice.id}, scope "${alice.scope.join(' ')}")`);

  step('Sign in (password grant)');
  // Usernames are case-insensitive; no scope asked for, so the client's scopes the user holds are granted.
  const signIn = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'Alice', password: PASSWORD });
  console.log(`signed in: token_type=${signIn.token_type} expires_in=${signIn.expires_in} scope="${signIn.scope}"`);
  console.log(`  access_token  ${short(signIn.access_token)}`);
  console.log(`  refresh_token ${short(signIn.refresh_token)}`);

  const wrong = await engine
    .token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: 'not the password at all' })
    .catch((error) => error);
  if (!(wrong instanceof OAuthError)) throw new Error('a wrong password should be refused');
  console.log(`wrong password refused: ${wrong.status} ${JSON.stringify(wrong.toJSON())}`);

  step('Verify the access token');
  const claims = await engine.verifyAccessToken(signIn.access_token);
  const footer = JSON.parse(Buffer.from(signIn.access_token.split('.')[3], 'base64url').toString('utf8'));
  console.log(`access token verified: sub=${claims.sub} username=${claims.username} scope="${claims.scope}"`);
  console.log(`  sid=${claims.sid} client_id=${claims.client_id} exp=${claims.exp}`);
  console.log(`  footer kid ${footer.kid} (published: ${engine.publishedKeys().some((k) => k.pid === footer.kid)})`);

  step('Introspect (confidential client, RFC 7662)');
  const seen = await engine.introspect({ token: signIn.access_token }, service);
  console.log(`introspection (records-service): active=${seen.active} username=${seen.username} exp=${seen.exp}`);

  step('Refresh (rotation)');
  const refreshed = await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: signIn.refresh_token });
  const rotated = refreshed.refresh_token !== signIn.refresh_token;
  console.log(`refreshed: refresh token rotated=${rotated}`);
  console.log(`  new access_token  ${short(refreshed.access_token)}`);
  console.log(`  new refresh_token ${short(refreshed.refresh_token)}`);
  if (!rotated) throw new Error('the refresh token should have rotated');

  step('Sign out (revoke the refresh token, RFC 7009)');
  // Revoking a refresh token ends its whole sign-in session, access tokens included.
  await engine.revoke({ token: refreshed.refresh_token, client_id: 'desktop' });
  console.log('refresh token revoked');
  const afterRevoke = await engine.verifyAccessToken(refreshed.access_token).catch((error) => error);
  if (!(afterRevoke instanceof TokenError)) throw new Error('the access token should no longer verify');
  console.log(`access token after revoke: ${afterRevoke.code}`);
  const seenAfter = await engine.introspect({ token: refreshed.access_token }, service);
  console.log(`introspection after revoke: active=${seenAfter.active}`);

  step('Reuse detection (RFC 9700 §4.14)');
  const second = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
  await engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: second.refresh_token });
  // Presenting the already-used refresh token again ends the whole family.
  const replay = await engine
    .token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: second.refresh_token })
    .catch((error) => error);
  if (!(replay instanceof OAuthError)) throw new Error('a replayed refresh token should be refused');
  console.log(`old refresh token replayed: ${replay.code}`);

  step('Sessions as IT sees them');
  for (const s of engine.sessions.list('alice')) {
    console.log(`  session ${s.id} client=${s.clientId} ended=${s.revokedReason ?? 'no'}`);
  }
  console.log(`argon2id evaluations: ${engine.hashEvaluations}`);
} finally {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log('\nengine closed');
