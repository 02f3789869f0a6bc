import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type CallerContext, type Engine, type GatehouseApi, type SessionView } from '../dist/index.js';
import { createAppHandlers, createAppProtocolHandler, effectivePolicy, type AppHandlers, type SecretStore } from '../dist/electron/index.js';
import { ensureFirstPartyClient, FIRST_PARTY_CLIENT_ID } from '../dist/engine/first-run.js';
import { startResourceService, type ResourceService } from '../dist/resource/supervisor.js';
import { FakeClock, PASSWORD } from './helpers.js';

// The built renderer (dist-app/renderer) in real headless Chromium, served at a test origin by the
// real app protocol handler, its data requests forwarded to a real resource service, its IPC calls
// (through the built preload API, dist-app/test/preload-api.js) answered by the real handlers over a
// real engine on a temp SQLite file. Only the handlers' clock is fake: the idle lock is reached by
// moving it. The engine and the resource service keep real time (tokens must verify).

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RENDERER_DIR = join(ROOT, 'dist-app/renderer');
const PRELOAD_API = join(ROOT, 'dist-app/test/preload-api.js');
const SCREENSHOTS = join(ROOT, 'test-artifacts/screenshots');
const APP_ORIGIN = 'https://gatehouse.test';
const OTHER_ORIGIN = 'https://other.test';
const IDLE_LOCK_SECONDS = 600;
const HELPDESK = 'Locked out? Call the IT desk on 1234.';
const ADMIN_PASSWORD = 'the administrator passphrase 42';

/** The page's global as the preload API leaves it. */
type GatehouseWindow = { gatehouse: GatehouseApi };

/** Stands in for safeStorage (which needs the Electron binary), so "stay signed in" is offered. */
class MemorySecretStore implements SecretStore {
  private value: string | null = null;
  async load() {
    return this.value;
  }
  async save(value: string) {
    this.value = value;
  }
  async clear() {
    this.value = null;
  }
}

let browser: Browser;
let engine: Engine;
let service: ResourceService;
let handlers: AppHandlers;
const clock = new FakeClock();
const mainCaller: CallerContext = { origin: APP_ORIGIN, mainFrame: true };

// Shared by every test of the file (helpers' tempDir would be removed after the first one).
let dir: string | undefined;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  engine = await openEngine({
    path: join(dir, 'auth.db'),
    hashWorkers: 1,
    // A short delay after one free failure, so the throttled message and its countdown show quickly.
    policy: { lockout: { freeFailures: 1, initialDelaySeconds: 4, maxDelaySeconds: 4 } },
  });
  ensureFirstPartyClient(engine);
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read', 'records:write'] });
  await engine.users.add({ username: 'root', password: ADMIN_PASSWORD, scope: ['records:read', 'records:write', 'admin'] });
  service = await startResourceService(engine, { port: 0, dataPath: join(dir, 'data.db') });
  handlers = createAppHandlers({
    engine,
    allowedOrigin: APP_ORIGIN,
    // As in the app: the page's data requests go to its own origin, which forwards /api/*.
    serviceUrl: APP_ORIGIN,
    // From several sources, as the app builds it, so the admin page shows where each setting came from.
    effectivePolicy: effectivePolicy({
      user: { idleLockSeconds: 60 },
      provisioning: { idleLockSeconds: IDLE_LOCK_SECONDS, helpdeskText: 'Provisioned help' },
      machineFile: { appName: 'Gatehouse' },
      machineRegistry: { helpdeskText: HELPDESK, staySignedInAllowed: true },
    }),
    clientId: FIRST_PARTY_CLIENT_ID,
    secretStore: new MemorySecretStore(),
    clock,
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await handlers?.close();
  await service?.close();
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const appProtocol = createAppProtocolHandler({ rendererDir: RENDERER_DIR, serviceUrl: () => service.url });

/** Answers a routed request with the real app protocol handler (WHATWG Request in, Response out). */
async function serveFromAppProtocol(route: Route): Promise<void> {
  const request = route.request();
  const body = request.postDataBuffer();
  const response = await appProtocol(new Request(request.url(), { method: request.method(), headers: request.headers(), ...(body ? { body } : {}) }));
  await route.fulfill({ status: response.status, headers: Object.fromEntries(response.headers), body: Buffer.from(await response.arrayBuffer()) });
}

interface OpenedApp {
  page: Page;
  /** Every session main pushed, in order. */
  pushed: SessionView[];
  /** The name of every call main answered, in order. */
  answered: string[];
  /** The path of every request to the app origin, in order. */
  requested: string[];
  /** Holds calls of `name` on their way to main until the returned function is called. */
  hold(name: string): () => void;
  /** Closes the browser context; fails if the page logged an error other than those expected. */
  close(): Promise<void>;
}

/**
 * A browser context whose pages see only the test origins: the app (plus the extra test pages
 * given) and another origin's page. IPC goes to the real handlers; session changes come back
 * through the test bundle's hook, as main pushes them.
 */
async function openApp(options: { pages?: Record<string, string>; expectedErrors?: RegExp } = {}): Promise<OpenedApp> {
  const extraPages = options.pages ?? {};
  const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
  await context.addInitScript({ path: PRELOAD_API });
  const requested: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === APP_ORIGIN) requested.push(url.pathname);
    const extra = url.origin === APP_ORIGIN || url.origin === OTHER_ORIGIN ? extraPages[url.href] : undefined;
    if (extra !== undefined) return route.fulfill({ status: 200, contentType: 'text/html', body: extra });
    if (url.origin === APP_ORIGIN) return serveFromAppProtocol(route);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const answered: string[] = [];
  const held = new Map<string, Promise<void>>();
  await page.exposeBinding('__gatehouseInvoke', async (source, name: string, args: unknown) => {
    await held.get(name);
    const result = await handlers.handle(name, { origin: new URL(source.frame.url()).origin, mainFrame: source.frame === source.page.mainFrame() }, args);
    answered.push(name);
    return result;
  });
  const pushed: SessionView[] = [];
  const unsubscribe = handlers.onSessionChanged((session) => {
    pushed.push(session);
    void page.evaluate((view) => (globalThis as unknown as { __gatehouseSessionChanged(v: unknown): void }).__gatehouseSessionChanged(view), session).catch(() => undefined);
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  const hold = (name: string) => {
    let release = () => {};
    held.set(name, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      held.delete(name);
      release();
    };
  };
  const close = async () => {
    unsubscribe();
    await context.close();
    // 404s (the favicon Chromium asks for) are logged as "Failed to load resource".
    expect(errors.filter((text) => !/^Failed to load resource/.test(text) && !options.expectedErrors?.test(text))).toEqual([]);
  };
  return { page, pushed, answered, requested, hold, close };
}

/**
 * Waiting assertions on the page (playwright-core has no `expect`): each polls until it holds or
 * its timeout passes, so nothing depends on how fast the shared machine runs.
 */
const WAIT = { timeout: 10_000 };
const ui = {
  /** On timeout the error names what the page was alerting about, if anything. */
  visible: (locator: Locator, timeout = WAIT.timeout) =>
    locator.waitFor({ state: 'visible', timeout }).catch(async (error: Error) => {
      throw new Error(`${error.message}\nalerts: ${JSON.stringify(await locator.page().getByRole('alert').allTextContents())}`);
    }),
  gone: (locator: Locator) => expect.poll(() => locator.count(), WAIT).toBe(0),
  focused: (locator: Locator) => expect.poll(() => locator.evaluate((element) => element === element.ownerDocument.activeElement), WAIT).toBe(true),
  text: (locator: Locator, expected: string | RegExp, timeout = WAIT.timeout) =>
    typeof expected === 'string'
      ? expect.poll(() => locator.textContent(), { timeout }).toBe(expected)
      : expect.poll(() => locator.textContent(), { timeout }).toMatch(expected),
  contains: (locator: Locator, expected: string) => expect.poll(() => locator.textContent(), WAIT).toContain(expected),
  enabled: (locator: Locator, enabled = true) => expect.poll(() => locator.isEnabled(), WAIT).toBe(enabled),
  attribute: (locator: Locator, name: string) => expect.poll(() => locator.getAttribute(name), WAIT),
};

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password', { exact: true }).press('Enter');
}

/** The records of the signed-in account as the resource service holds them (not as the page shows them). */
async function storedTitles(): Promise<string[]> {
  const token = (await handlers.handle('getAccessToken', mainCaller, undefined)) as { ok: true; accessToken: string };
  const response = await fetch(`${service.url}/api/records`, { headers: { Authorization: `Bearer ${token.accessToken}` } });
  const page = (await response.json()) as { items: Array<{ title: string }> };
  return page.items.map((item) => item.title).sort();
}

describe('the renderer in Chromium, over the real handlers, protocol handler and resource service', () => {
  it('signs in (keyboard order, wrong password, throttled with a countdown), creates, edits, deletes and pages records, changes the password, signs out everywhere', async () => {
    const { page, hold, requested, close } = await openApp();
    await page.goto(`${APP_ORIGIN}/`);
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Sign in to Gatehouse' }));
    await ui.focused(page.getByLabel('Username'));
    await ui.visible(page.getByText(HELPDESK));
    await ui.visible(page.getByLabel('Stay signed in on this computer'));
    // Keyboard: the tab order follows the form.
    for (const next of [page.getByLabel('Password', { exact: true }), page.getByLabel('Stay signed in on this computer'), page.getByRole('button', { name: 'Sign in' })]) {
      await page.keyboard.press('Tab');
      await ui.focused(next);
    }
    await shot(page, '01-sign-in');
    // The sign-in screen stays small: the strength estimator's chunk is not loaded for it.
    expect(requested.filter((path) => path.startsWith('/chunks/'))).toEqual([]);

    // Caps Lock on while typing the password: a hint under the field. (Playwright's keyboard does
    // not toggle Caps Lock, so the key events carry the modifier as Chromium's own would.)
    const passwordField = page.getByLabel('Password', { exact: true });
    await passwordField.dispatchEvent('keydown', { key: 'A', modifierCapsLock: true });
    await ui.visible(page.getByText('Caps Lock is on.'));
    await passwordField.dispatchEvent('keyup', { key: 'a', modifierCapsLock: false });
    await ui.gone(page.getByText('Caps Lock is on.').filter({ visible: true }));

    // Wrong password: its own message, the field emptied and focused again.
    await signIn(page, 'alice', 'not the password at all');
    await ui.text(page.getByRole('alert'), 'The username or password is not right.');
    await ui.focused(page.getByLabel('Password', { exact: true }));
    await shot(page, '02-sign-in-wrong-password');

    // Throttled: a name (here an unknown one) that failed too often is refused, with a countdown.
    const submit = page.getByRole('button', { name: 'Sign in' });
    // (A slow machine may let a delay end between two attempts: a few more attempts are allowed.)
    for (let attempt = 0; attempt < 6; attempt += 1) {
      await ui.enabled(submit);
      await signIn(page, 'ghost', 'a wrong password for nobody');
      await ui.text(page.getByRole('alert'), /not right|Try again in/);
      if (/Try again in/.test((await page.getByRole('alert').textContent()) ?? '')) break;
    }
    const first = Number(/Try again in (\d+) s/.exec((await page.getByRole('alert').textContent()) ?? '')?.[1]);
    expect(first).toBeGreaterThan(0);
    await ui.enabled(submit, false);
    await shot(page, '03-sign-in-throttled');
    if (first > 1) await ui.text(page.getByRole('alert'), `Too many attempts. Try again in ${first - 1} s.`, 5000);
    await ui.visible(page.getByRole('status').filter({ hasText: 'You can try again now.' }), 10_000);
    await ui.enabled(submit);

    // While main checks the password: the button disabled, the form busy, a status saying so.
    const release = hold('signIn');
    await signIn(page, 'alice', PASSWORD);
    await ui.enabled(submit, false);
    await ui.text(page.getByRole('status').filter({ hasText: 'Signing' }), 'Signing in…');
    await ui.attribute(page.locator('form'), 'aria-busy').toBe('true');
    await shot(page, '04-sign-in-busy');
    release();

    // Signed in: the records page, its heading focused; the session as main holds it.
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Your records' }));
    await ui.visible(page.getByText('You have no records yet.'));
    await ui.visible(page.getByRole('navigation', { name: 'Main' }).getByText('Signed in as alice'));
    await ui.gone(page.getByRole('button', { name: 'Administration' }));
    expect(await handlers.handle('getSession', mainCaller, undefined)).toMatchObject({ ok: true, session: { state: 'signed_in', username: 'alice', admin: false } });
    await shot(page, '05-records-empty');

    // Create two records; Enter in the title submits.
    for (const [title, body] of [
      ['Quarterly figures', 'Numbers for Q3, to be checked.'],
      ['Visitor list', 'Names for Thursday.'],
    ] as const) {
      await page.getByLabel('Title', { exact: true }).fill(title);
      await page.getByLabel('Text', { exact: true }).fill(body);
      await page.getByLabel('Title', { exact: true }).press('Enter');
      await ui.visible(page.getByRole('heading', { level: 3, name: title }));
    }
    await ui.visible(page.getByRole('status').filter({ hasText: 'Record added.' }));
    expect(await storedTitles()).toEqual(['Quarterly figures', 'Visitor list']);
    await shot(page, '06-records-list');

    // Edit one in place.
    await page.getByRole('button', { name: 'Edit “Quarterly figures”' }).click();
    const editForm = page.getByRole('form', { name: 'Edit record' });
    await ui.focused(editForm.getByLabel('Title'));
    await editForm.getByLabel('Title').fill('Quarterly figures (checked)');
    await shot(page, '07-records-edit');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await ui.visible(page.getByRole('heading', { level: 3, name: 'Quarterly figures (checked)' }));
    await ui.visible(page.getByRole('status').filter({ hasText: 'Record saved.' }));
    expect(await storedTitles()).toEqual(['Quarterly figures (checked)', 'Visitor list']);

    // Delete one, after its confirmation.
    await page.getByRole('button', { name: 'Delete “Visitor list”' }).click();
    await ui.visible(page.getByText('Really delete “Visitor list”?'));
    await shot(page, '08-records-delete-confirm');
    await page.getByRole('group', { name: 'Really delete “Visitor list”?' }).getByRole('button', { name: 'Delete' }).click();
    await ui.gone(page.getByRole('heading', { level: 3, name: 'Visitor list' }));
    await ui.visible(page.getByRole('status').filter({ hasText: 'Record deleted.' }));
    expect(await storedTitles()).toEqual(['Quarterly figures (checked)']);

    // Paging: 21 more records (made straight at the service) show 20 at a time.
    const token = (await handlers.handle('getAccessToken', mainCaller, undefined)) as { ok: true; accessToken: string };
    for (let n = 1; n <= 21; n += 1) {
      const made = await fetch(`${service.url}/api/records`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token.accessToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: `Bulk ${n}`, body: '' }),
      });
      expect(made.status).toBe(201);
    }
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Records' }).click();
    const items = page.getByRole('list', { name: 'Records' }).getByRole('listitem');
    await expect.poll(() => items.count(), WAIT).toBe(20);
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => items.count(), WAIT).toBe(22);
    await ui.gone(page.getByRole('button', { name: 'Show more' }));

    // The account page: change the password (the session goes on), then sign out from it.
    await page.getByRole('button', { name: 'Account' }).click();
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Your account' }));
    await ui.attribute(page.getByRole('button', { name: 'Account' }), 'aria-current').toBe('page');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('seven lanterns over a quiet harbour');
    await page.getByLabel('Repeat the new password').fill('seven lanterns over a quiet harbour');
    await page.getByLabel('Repeat the new password').press('Enter');
    await ui.visible(page.getByRole('status').filter({ hasText: 'Your password was changed.' }), 15_000);
    expect(await handlers.handle('getSession', mainCaller, undefined)).toMatchObject({ ok: true, session: { state: 'signed_in', username: 'alice' } });
    await shot(page, '09-account');
    // Sign out everywhere: alice's session on another device ends too.
    await engine.token({ grant_type: 'password', client_id: FIRST_PARTY_CLIENT_ID, username: 'alice', password: 'seven lanterns over a quiet harbour' });
    expect(engine.sessions.list('alice').filter((session) => session.revokedAt === null)).toHaveLength(2);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Sign in to Gatehouse' }));
    await ui.visible(page.getByText('You have signed out.'));
    expect(await handlers.handle('getSession', mainCaller, undefined)).toEqual({ ok: true, session: { state: 'signed_out' } });
    expect(engine.sessions.list('alice').filter((session) => session.revokedAt === null)).toEqual([]);
    await shot(page, '10-signed-out');
    await close();
  }, 120_000);

  it('an administrator manages users, sessions and the key and adds a user who must change the password; that user changes it, signs in, stays unlocked while active, is idle-locked, unlocks back to the same page, and is signed out by a revocation', async () => {
    const { page, pushed, answered, requested, close } = await openApp();
    await page.goto(`${APP_ORIGIN}/`);
    await signIn(page, 'root', ADMIN_PASSWORD);
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Your records' }));
    await page.getByRole('button', { name: 'Administration' }).click();
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Administration' }));
    const users = page.getByRole('table', { name: 'Users' });
    await ui.visible(users.getByRole('rowheader', { name: 'alice' }));
    await ui.visible(page.getByRole('table', { name: 'Sessions' }).getByRole('rowheader', { name: 'root' }).first());
    // The administrator's own row offers no Disable; Unlock is offered only with failed sign-ins on record.
    await ui.visible(users.getByRole('rowheader', { name: 'root (you)' }));
    expect(await users.getByRole('button', { name: 'Disable root' }).count()).toBe(0);
    expect(await users.getByRole('button', { name: 'Unlock alice' }).count()).toBe(0);
    await expect(engine.token({ grant_type: 'password', client_id: FIRST_PARTY_CLIENT_ID, username: 'alice', password: 'not her password, long enough' })).rejects.toMatchObject({ code: 'invalid_grant' });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await ui.contains(users.getByRole('row', { name: /alice/ }), '1 failed sign-in');
    await users.getByRole('button', { name: 'Unlock alice' }).click();
    await ui.visible(page.getByRole('status').filter({ hasText: 'alice was updated.' }));
    await ui.gone(users.getByRole('button', { name: 'Unlock alice' }));
    // The policy in force: every setting, its value and who set it.
    const policy = page.getByRole('table', { name: 'Policy in force' });
    const policyRow = (setting: string) => policy.getByRole('row').filter({ has: page.getByRole('rowheader', { name: setting, exact: true }) });
    await ui.visible(policyRow('App name'));
    for (const [setting, value, source] of [
      ['App name', 'Gatehouse', 'Machine policy file'],
      ['Helpdesk text', HELPDESK, 'Group Policy (computer)'],
      ['Idle lock', `${IDLE_LOCK_SECONDS} s`, 'Provisioning'],
      ['Stay signed in allowed', 'Yes', 'Group Policy (computer)'],
      ['Signing keys kept across restarts', 'No', 'Default'],
      ['Shared data folder', 'None', 'Default'],
    ]) {
      expect(await policyRow(setting!).getByRole('cell').allTextContents(), setting).toEqual([value, source]);
    }
    await policy.screenshot({ path: join(SCREENSHOTS, '11-admin-policy-in-force.png') });

    const create = page.getByRole('form', { name: 'Add a user' });
    await create.getByLabel('Username').fill('carol');
    await create.getByLabel('Display name (optional)').fill('Carol Example');
    await create.getByLabel('Initial password').fill('a temporary passphrase for the new hire');
    expect(await create.getByLabel('Must change the password at first sign-in').isChecked()).toBe(true);
    await create.getByRole('button', { name: 'Add user' }).click();
    await ui.visible(page.getByRole('status').filter({ hasText: 'User carol was added.' }));
    await ui.contains(users.getByRole('row', { name: /carol/ }), 'Must change password');
    await shot(page, '11-admin');
    expect(engine.users.get('carol')).toMatchObject({ displayName: 'Carol Example', mustChangePassword: true, scope: ['records:read', 'records:write'] });

    // Disable and enable, reset a password, end another device's session, rotate the signing key.
    await page.getByRole('button', { name: 'Disable alice' }).click();
    await ui.contains(users.getByRole('row', { name: /alice/ }), 'Disabled');
    expect(engine.users.get('alice')).toMatchObject({ disabled: true });
    // The row was drawn again: the keyboard focus is back in it.
    await ui.focused(page.getByRole('button', { name: 'Enable alice' }));
    await page.getByRole('button', { name: 'Enable alice' }).click();
    await ui.contains(users.getByRole('row', { name: /alice/ }), 'Active');
    await page.getByRole('button', { name: 'Reset password of alice' }).click();
    const reset = page.getByRole('form', { name: 'New password for alice' });
    await ui.focused(reset.getByLabel('Initial password'));
    await reset.getByLabel('Initial password').fill('a fresh start for the records clerk');
    await reset.getByLabel('Must change the password at first sign-in').uncheck();
    await reset.getByRole('button', { name: 'Set password' }).click();
    await ui.visible(page.getByRole('status').filter({ hasText: 'The password of alice was reset.' }));
    // The new password works (a session of alice's elsewhere, for the sessions table).
    await engine.token({ grant_type: 'password', client_id: FIRST_PARTY_CLIENT_ID, username: 'alice', password: 'a fresh start for the records clerk' });
    await page.getByRole('button', { name: 'Refresh' }).click();
    const sessionsTable = page.getByRole('table', { name: 'Sessions' });
    await page.getByRole('button', { name: 'End this session of alice' }).click();
    await ui.visible(page.getByRole('status').filter({ hasText: 'The session was ended.' }));
    await ui.gone(page.getByRole('button', { name: 'End this session of alice' }));
    expect(engine.sessions.list('alice').every((session) => session.revokedAt !== null)).toBe(true);
    await ui.contains(sessionsTable, 'Ended by an administrator');
    await page.getByRole('button', { name: 'Rotate the signing key' }).click();
    await ui.text(page.getByRole('status').filter({ hasText: 'signing key' }), /^A new signing key is active \(\d+ keys published\)\.$/);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
    await ui.visible(page.getByText('You have signed out.'));

    // Carol's first sign-in leads to the change form: rules checked and strength rated as she types.
    await signIn(page, 'carol', 'a temporary passphrase for the new hire');
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Choose a new password' }));
    await ui.visible(page.getByText('Your password must be changed before you continue.'));
    const fresh = page.getByLabel('New password', { exact: true });
    await fresh.fill('carol');
    await ui.visible(page.getByText('Not accepted yet:'));
    await fresh.fill('lantern over seven quiet harbours');
    await ui.visible(page.getByText('This password meets the rules.'));
    expect(requested.filter((path) => /^\/chunks\/strength-estimator-\w+\.js$/.test(path))).toHaveLength(1);
    await ui.attribute(page.locator('meter'), 'value').not.toBe('0');
    await page.getByLabel('Repeat the new password').fill('lantern over seven quiet harbours');
    await shot(page, '12-must-change-password');
    await page.getByLabel('Repeat the new password').press('Enter');
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Your records' }), 15_000);
    await ui.visible(page.getByRole('navigation', { name: 'Main' }).getByText('Signed in as carol'));
    expect(engine.users.get('carol')).toMatchObject({ mustChangePassword: false });

    // Activity postpones the idle lock: a key pressed late in the idle time is reported (once).
    const carolsCalls = answered.length;
    const reports = () => answered.slice(carolsCalls).filter((name) => name === 'reportActivity').length;
    expect(reports()).toBe(0);
    clock.advance(IDLE_LOCK_SECONDS - 100);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await expect.poll(reports, WAIT).toBe(1);
    clock.advance(200);
    expect(await handlers.handle('getSession', mainCaller, undefined)).toMatchObject({ ok: true, session: { state: 'signed_in' } });

    await page.getByRole('button', { name: 'Account' }).click();
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Your account' }));

    // Idle: the handlers' clock passes the idle time; main locks and pushes it; the page shows the lock.
    clock.advance(IDLE_LOCK_SECONDS);
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Locked' }), 10_000);
    expect(pushed.at(-1)).toMatchObject({ state: 'locked', username: 'carol' });
    await ui.focused(page.getByLabel('Password', { exact: true }));
    await ui.gone(page.getByRole('navigation', { name: 'Main' }).getByRole('button'));
    await shot(page, '13-idle-locked');
    await page.getByLabel('Password', { exact: true }).fill('lantern over seven quiet harbours');
    await page.getByLabel('Password', { exact: true }).press('Enter');
    // Unlocked: back to the page the lock covered.
    await ui.focused(page.getByRole('heading', { level: 1, name: 'Your account' }));
    expect(await handlers.handle('getSession', mainCaller, undefined)).toMatchObject({ ok: true, session: { state: 'signed_in', username: 'carol' } });

    // An administrator ends carol's session elsewhere: main pushes signed_out, the page says why.
    const sessions = engine.sessions.list('carol').filter((session) => session.revokedAt === null);
    for (const session of sessions) engine.sessions.revoke(session.id);
    await ui.visible(page.getByText('Your session has ended. Please sign in again.'), 10_000);
    await shot(page, '14-session-ended');
    await close();
  }, 120_000);

  it('runs the page under the app origin’s CSP: no inline script, no request to the loopback service', async () => {
    const { page, close } = await openApp({ expectedErrors: /Content Security Policy|Failed to fetch/ });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${APP_ORIGIN}/`);
    await ui.visible(page.getByRole('heading', { level: 1, name: 'Sign in to Gatehouse' }));
    const outcome = await page.evaluate(async (serviceUrl) => {
      const host = globalThis as unknown as { document: any; fetch(url: string): Promise<unknown>; inlineRan?: boolean };
      const script = host.document.createElement('script');
      script.textContent = 'globalThis.inlineRan = true';
      host.document.body.append(script);
      const loopback = await host.fetch(`${serviceUrl}/api/me`).then(
        () => 'reached',
        () => 'refused',
      );
      return { inlineRan: host.inlineRan === true, loopback };
    }, service.url);
    expect(outcome).toEqual({ inlineRan: false, loopback: 'refused' });
    expect(violations.some((text) => text.includes('script-src'))).toBe(true);
    expect(violations.some((text) => text.includes('connect-src'))).toBe(true);
    await close();
  }, 60_000);

  it('refuses, for real, calls from a same-origin subframe and from another origin’s frame', async () => {
    const host = `${APP_ORIGIN}/__test/host.html`;
    const child = `${APP_ORIGIN}/__test/child.html`;
    const foreign = `${OTHER_ORIGIN}/frame.html`;
    const { page, close } = await openApp({
      pages: {
        [host]: `<!doctype html><title>host</title><iframe name="same" src="${child}"></iframe><iframe name="other" src="${foreign}"></iframe>`,
        [child]: '<!doctype html><title>child</title>',
        [foreign]: '<!doctype html><title>other</title>',
      },
    });
    await page.goto(host);
    const same = page.frame({ url: child })!;
    const other = page.frame({ url: foreign })!;
    await Promise.all([same.waitForLoadState(), other.waitForLoadState()]);

    // The main frame of the app's origin is served …
    expect(await page.evaluate(() => (globalThis as unknown as GatehouseWindow).gatehouse.getAppInfo())).toMatchObject({ ok: true, app: { appName: 'Gatehouse' } });
    // … its subframe is not, nor a frame of another origin, whatever the call; no password is checked.
    const hashesBefore = engine.hashEvaluations;
    const sessionBefore = await handlers.handle('getSession', mainCaller, undefined);
    for (const frame of [same, other]) {
      expect(await frame.evaluate(() => (globalThis as unknown as GatehouseWindow).gatehouse.getAppInfo())).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await frame.evaluate(() => (globalThis as unknown as GatehouseWindow).gatehouse.signIn({ username: 'alice', password: 'correct horse battery staple' }))).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
      expect(await frame.evaluate(() => (globalThis as unknown as GatehouseWindow).gatehouse.admin.listUsers())).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(engine.hashEvaluations).toBe(hashesBefore);
    expect(await handlers.handle('getSession', mainCaller, undefined)).toEqual(sessionBefore);

    // The API object is frozen and holds named functions only: no way to pick a channel.
    expect(
      await page.evaluate(() => ({
        frozen: Object.isFrozen((globalThis as unknown as GatehouseWindow).gatehouse) && Object.isFrozen((globalThis as unknown as GatehouseWindow).gatehouse.admin),
        keys: Object.keys((globalThis as unknown as GatehouseWindow).gatehouse).sort(),
        admin: Object.keys((globalThis as unknown as GatehouseWindow).gatehouse.admin).sort(),
      })),
    ).toEqual({
      frozen: true,
      keys: ['admin', 'changePassword', 'checkNewPassword', 'getAccessToken', 'getAppInfo', 'getServiceUrl', 'getSession', 'onSessionChanged', 'reportActivity', 'signIn', 'signOut', 'unlock'],
      admin: ['createUser', 'getPolicy', 'listSessions', 'listUsers', 'resetPassword', 'revokeSession', 'rotateSigningKey', 'setUserDisabled', 'unlockUser'],
    });
    await close();
  }, 60_000);
});
