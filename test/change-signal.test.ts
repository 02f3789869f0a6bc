import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { announceChange, listenForChanges, type ChangeListener } from '../dist/store/change-signal.js';
import { tempDir } from './helpers.js';
import { runGatehouse } from './serve-process.js';

const listeners: ChangeListener[] = [];
afterEach(async () => {
  for (const listener of listeners.splice(0)) await listener.close();
});

async function listen(db: string, onChange: () => Promise<void>): Promise<ChangeListener> {
  const listener = await listenForChanges(db, onChange, (message) => {
    throw new Error(message);
  });
  expect(listener).toBeDefined();
  listeners.push(listener!);
  return listener!;
}

describe('change signals between processes sharing a database', () => {
  it('a CLI command waits until every running host of the file has looked for its change', async () => {
    const db = join(tempDir(), 'g.db');
    const seen: string[] = [];
    const slowHost = async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen.push('slow host looked');
    };
    await listen(db, slowHost);
    await listen(join(db, '..', 'other.db'), async () => void seen.push('host of another file'));

    const cli = await runGatehouse(['clients', 'add', 'desktop', '--db', db]);
    seen.push('cli exited');
    expect([cli.code, cli.stderr]).toEqual([0, '']);
    expect(seen).toEqual(['slow host looked', 'cli exited']);
  });

  it('does nothing when no host runs, and tidies a socket left by a host that died', async () => {
    const db = join(tempDir(), 'g.db');
    await expect(announceChange(db)).resolves.toBeUndefined();
    const listener = await listen(db, async () => undefined);
    const dir = process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'gatehouse') : undefined;
    await listener.close();
    listeners.splice(listeners.indexOf(listener), 1);
    if (dir) expect(readdirSync(dir).some((name) => name.endsWith(`-${process.pid}.sock`))).toBe(false);
    await expect(announceChange(db)).resolves.toBeUndefined();
    expect(existsSync(db)).toBe(false);
  });

  it('hears each nudge once, one at a time', async () => {
    const db = join(tempDir(), 'g.db');
    let running = 0;
    let most = 0;
    let heard = 0;
    await listen(db, async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      heard++;
      running--;
    });
    await Promise.all(Array.from({ length: 5 }, () => announceChange(db)));
    expect([heard, most]).toEqual([5, 1]);
  });
});

