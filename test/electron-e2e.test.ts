import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openEngine } from '../dist/index.js';
import { ensureFirstPartyClient } from '../dist/engine/first-run.js';
import { electronBinary } from '../main/electron-binary.mjs';
import { PASSWORD, tempDir } from './helpers.js';

// The built desktop app in a real Electron, driven by Playwright: a person signs in, sees the
// records view and signs out. It needs the Electron binary (node_modules/electron/dist, fetched by
// `npm start -- --download-electron`); where there is none, the test says so and is skipped.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = ['dist-app/main/main.js', 'dist-app/preload.cjs', 'dist-app/renderer'].map((path) => join(ROOT, path));
const binary = electronBinary();

describe('the desktop app in Electron', () => {
  it('signs in as a created user, sees and adds to the records view, and signs out', { timeout: 120_000 }, async (ctx) => {
    const executablePath = binary.path;
    if (executablePath === undefined) return ctx.skip(`no Electron binary here (${binary.missing})`);
    expect(BUILT.filter((path) => !existsSync(path)), 'the app is built (npm run build)').toEqual([]);

    // A temporary profile: its own database, single-instance lock and Chromium state.
    const userData = tempDir();
    const dbPath = join(userData, 'gatehouse.db');
    const setup = await openEngine({ path: dbPath, hashWorkers: 1 });
    ensureFirstPartyClient(setup);
    await setup.users.add({ username: 'erin', password: PASSWORD, scope: ['records:read', 'records:write'] });
    await setup.close();

    const app = await _electron.launch({ executablePath, args: [ROOT, `--user-data-dir=${userData}`], cwd: ROOT });
    let exited = false;
    app.process().once('exit', () => (exited = true));
    try {
      const page = await app.firstWindow();
      await page.getByRole('heading', { level: 1, name: 'Sign in to Gatehouse' }).waitFor();
      expect(page.url()).toBe('gatehouse://app/');
      // The renderer has the preload's API and nothing of Node.
      expect(await page.evaluate(() => [typeof (globalThis as { gatehouse?: unknown }).gatehouse, typeof (globalThis as { process?: unknown }).process])).toEqual([
        'object',
        'undefined',
      ]);

      // The page may not open another window.
      expect(await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com/'))).toBeNull();

      await page.getByLabel('Username').fill('erin');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();

      // The records view, its data fetched through gatehouse://app/api/ from the utility process.
      await page.getByRole('heading', { level: 1, name: 'Your records' }).waitFor();
      await page.getByText('You have no records yet.').waitFor();
      await page.getByLabel('Title', { exact: true }).fill('Shift handover');
      await page.getByLabel('Text', { exact: true }).fill('Doors locked at 18:00.');
      await page.getByLabel('Title', { exact: true }).press('Enter');
      await page.getByRole('heading', { level: 3, name: 'Shift handover' }).waitFor();

      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You have signed out.').waitFor();
      await page.getByRole('heading', { level: 1, name: 'Sign in to Gatehouse' }).waitFor();
    } finally {
      await app.close();
    }
    expect(exited).toBe(true);

    // The app closed its database cleanly; the session it signed out of has ended.
    const check = await openEngine({ path: dbPath, hashWorkers: 1, signingKeyAtOpen: false });
    try {
      const sessions = check.sessions.list('erin');
      expect(sessions).toHaveLength(1);
      expect(sessions[0]!.revokedAt).not.toBeNull();
    } finally {
      await check.close();
    }
  });
});
