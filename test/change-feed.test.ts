import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { openEngine, systemClock, type PublishedKey, type Revocation } from '../dist/index.js';
import { PASSWORD, seeded } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

describe("the engine announces other processes' changes", () => {
  it('turns a `gatehouse users disable` run elsewhere into a revocation event, once', async () => {
    // The CLI keeps real time, so the engine does too: its tokens must still be live when the CLI runs.
    const { engine, path } = await seeded({ clock: systemClock });
    const { access_token } = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const sid = (await engine.verifyAccessToken(access_token)).sid;
    const heard: Revocation[][] = [];
    engine.on('revocation', (revocations) => heard.push(revocations));

    const cli = spawnSync(process.execPath, [bin, 'users', 'disable', 'alice', '--db', path], { encoding: 'utf8' });
    expect([cli.status, cli.stderr]).toEqual([0, '']);
    engine.checkForChanges();
    expect(heard).toEqual([[expect.objectContaining({ kind: 'sid', value: sid })]]);
    engine.checkForChanges();
    expect(heard).toHaveLength(1);
    await expect(engine.verifyAccessToken(access_token)).rejects.toMatchObject({ code: 'revoked' });
  });

  it('notices on its own, without being asked, and never repeats its own revocations', async () => {
    const { engine, path } = await seeded();
    const first = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const second = await engine.token({ grant_type: 'password', client_id: 'desktop', username: 'alice', password: PASSWORD });
    const heard: Revocation[] = [];
    engine.on('revocation', (revocations) => heard.push(...revocations));
    await engine.revoke({ client_id: 'desktop', token: first.refresh_token! });
    expect(heard).toHaveLength(1);

    const sid = (await engine.verifyAccessToken(second.access_token)).sid;
    const cli = spawnSync(process.execPath, [bin, 'sessions', 'revoke', sid, '--db', path], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    // The poll runs every quarter second; wait for it rather than asking.
    await vi.waitFor(() => expect(heard.map((r) => r.value)).toContain(sid), { timeout: 5000, interval: 50 });
    expect(heard).toHaveLength(2);
  });

  it("announces another engine's new signing key", async () => {
    const { engine, path, clock } = await seeded();
    const heard: PublishedKey[][] = [];
    engine.on('keys', (keys) => heard.push(keys));
    const other = await openEngine({ path, clock, hashWorkers: 1 });
    try {
      engine.checkForChanges();
      expect(heard).toHaveLength(1);
      expect(heard[0]!.map((k) => k.pid).sort()).toEqual(other.publishedKeys().map((k) => k.pid).sort());
      expect(heard[0]).toHaveLength(2);
    } finally {
      await other.close();
    }
  });
});
