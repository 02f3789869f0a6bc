// The peer of refresh_vs_peer: node:http + @node-oauth/oauth2-server 5 with a better-sqlite3 model
// under the same pragmas as Gatehouse (WAL, synchronous=FULL, foreign keys, busy timeout). Refresh
// grant with rotation (alwaysIssueNewRefreshToken, the default): getRefreshToken, then revokeToken
// (one DELETE, its own commit), then saveToken (access and refresh rows in one transaction). Opaque
// tokens stored as issued, as the library's documented model does; no reuse detection, no audit.
//   node bench/servers/peer-oauth2-server.mjs DB_PATH  prints {"url": …} once it answers
import { createServer } from 'node:http';
import OAuth2Server from '@node-oauth/oauth2-server';
import { openPeerDatabase } from './peer-schema.mjs';
import { serveUntilStopped } from './cpu.mjs';

const { Request, Response, OAuthError } = OAuth2Server;
const [path] = process.argv.slice(2);
const db = openPeerDatabase(path);

const q = {
  client: db.prepare('SELECT id, grants FROM clients WHERE id = ?'),
  refresh: db.prepare('SELECT token, expires_at, scope, client_id, user_id FROM refresh_tokens WHERE token = ?'),
  revoke: db.prepare('DELETE FROM refresh_tokens WHERE token = ?'),
  insertAccess: db.prepare('INSERT INTO access_tokens (token, expires_at, scope, client_id, user_id) VALUES (?, ?, ?, ?, ?)'),
  insertRefresh: db.prepare('INSERT INTO refresh_tokens (token, expires_at, scope, client_id, user_id) VALUES (?, ?, ?, ?, ?)'),
};
const scopeText = (scope) => (Array.isArray(scope) ? scope.join(' ') : (scope ?? ''));

const model = {
  async getClient(clientId) {
    const row = q.client.get(clientId);
    return row && { id: row.id, grants: row.grants.split(' ') };
  },
  async getRefreshToken(token) {
    const row = q.refresh.get(token);
    if (!row) return undefined;
    return {
      refreshToken: row.token,
      refreshTokenExpiresAt: new Date(row.expires_at),
      scope: row.scope.split(' '),
      client: { id: row.client_id },
      user: { id: row.user_id },
    };
  },
  async revokeToken(token) {
    return q.revoke.run(token.refreshToken).changes > 0;
  },
  saveToken: async (token, client, user) => {
    saveBoth(token, client, user);
    return { ...token, client, user };
  },
};
const saveBoth = db.transaction((token, client, user) => {
  const scope = scopeText(token.scope);
  q.insertAccess.run(token.accessToken, token.accessTokenExpiresAt.getTime(), scope, client.id, user.id);
  if (token.refreshToken) q.insertRefresh.run(token.refreshToken, token.refreshTokenExpiresAt.getTime(), scope, client.id, user.id);
});

const oauth = new OAuth2Server({ model, accessTokenLifetime: 300, refreshTokenLifetime: 7 * 86400 });
const options = { requireClientAuthentication: { refresh_token: false, password: false } };

const server = createServer(async (req, res) => {
  try {
    if (req.method !== 'POST' || req.url !== '/token') return reply(res, 404, { error: 'not_found' });
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const request = new Request({ headers: req.headers, method: req.method, query: {}, body });
    const response = new Response(res);
    await oauth.token(request, response, options);
    res.writeHead(response.status, { ...response.headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(response.body));
  } catch (error) {
    if (error instanceof OAuthError) reply(res, error.code, { error: error.name, error_description: error.message });
    else reply(res, 500, { error: 'server_error' });
  }
});
function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

serveUntilStopped(server, () => db.close());
