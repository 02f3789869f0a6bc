import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { ROOT } from './serve-process.js';

// The README's quick start, run line by line as a newcomer would: the first block in one terminal
// (in the background here), the second in another. Only the database path and the port change, so
// that the test touches nothing in the repository and needs no fixed port. `npm ci` is skipped:
// `npm test` runs on an installed and built tree.

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The ```sh blocks between <!-- quick-start --> and <!-- /quick-start -->. */
function quickStartBlocks(): string[] {
  const section = /<!-- quick-start -->([\s\S]*?)<!-- \/quick-start -->/.exec(README)?.[1];
  if (section === undefined) throw new Error('README.md has no quick-start section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** Replaces `from` (which must occur) by `to`. */
function substitute(text: string, from: string, to: string): string {
  expect(text, `the quick start should contain ${from}`).toContain(from);
  return text.split(from).join(to);
}

// Each shell runs in its own process group, which is what Ctrl-C signals and what cleanup kills.
const groups: ChildProcess[] = [];
afterEach(() => {
  for (const child of groups.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the shell may be gone while the server it started is not
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // the whole group has ended
    }
  }
});

function shell(script: string): { child: ChildProcess; stdout: () => string; stderr: () => string; closed: Promise<number | null> } {
  const env = {
    ...process.env,
    // npx must run this package's own bin, never fetch a package of that name from a registry.
    npm_config_offline: 'true',
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  };
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  // 'close' comes once every process holding the output has ended: npx's server included.
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, closed };
}

describe('README quick start', () => {
  it('serves, changes the one-time password, signs in, calls the resource service, refreshes, revokes, and stops on Ctrl-C', async () => {
    const [serverBlock, clientBlock] = quickStartBlocks();
    expect(serverBlock!.split('\n')[0]).toBe('npm ci');
    const db = join(tempDir(), 'quick.db');

    const serverLines = serverBlock!.split('\n').slice(1).join('\n');
    const server = shell(substitute(serverLines, '--db ./quick.db', `--db ${db} --port 0 --resource-port 0`));
    const ready = await new Promise<{ issuer: string; resource: string }>((resolve, reject) => {
      server.child.stdout!.on('data', () => {
        const line = server.stdout().split('\n')[0];
        if (server.stdout().includes('\n')) resolve(JSON.parse(line!) as { issuer: string; resource: string });
      });
      void server.closed.then((code) => reject(new Error(`the server ended (${code}): ${server.stderr()}`)));
    });
    expect(ready.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.resource).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    let script = substitute(clientBlock!, 'http://127.0.0.1:8470', ready.issuer);
    script = substitute(script, 'http://127.0.0.1:8471', ready.resource);
    const client = shell(substitute(script, './quick.db', db));
    const code = await client.closed;
    expect(code, client.stderr()).toBe(0);
    expect(client.stderr()).toBe('');

    // 204 from /password; the sign-in response as jq prints it; who the resource service says the
    // access token speaks for; the refreshed summary; {} from /revoke; the refused refresh.
    const out = client.stdout();
    const [changed, ...rest] = out.split('\n');
    expect(changed).toBe('204');
    const signedIn = /^\{\n[\s\S]*?\n\}\n/.exec(rest.join('\n'))![0];
    const tokens = JSON.parse(signedIn) as Record<string, unknown>;
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'admin records:read records:write' });
    expect(tokens.access_token).toMatch(/^v4\.public\./);
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const after = rest.join('\n').slice(signedIn.length);
    expect(after).toBe(
      [
        '{"username":"admin","scope":["admin","records:read","records:write"]}',
        '{',
        '  "token_type": "Bearer",',
        '  "expires_in": 300,',
        '  "scope": "admin records:read records:write"',
        '}',
        '{}',
        '{"error":"invalid_grant","error_description":"The refresh token is invalid, expired or revoked."}',
        '',
      ].join('\n'),
    );

    // The first terminal printed the ready line only; Ctrl-C (SIGINT to its process group) stops it.
    expect(server.stdout()).toBe(`${JSON.stringify(ready)}\n`);
    process.kill(-server.child.pid!, 'SIGINT');
    await server.closed;
    expect(server.stderr()).toMatch(/gatehouse: stopping on SIGINT\n$/);
    // Both listeners are gone: the server's, and its resource service's (Ctrl-C reached that process
    // too; it waits for the server to stop it).
    const probe = (url: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(url).port), '127.0.0.1');
        socket.on('connect', () => resolve('connected'));
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
    expect([await probe(ready.issuer), await probe(ready.resource)]).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });
});
