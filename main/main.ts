import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, utilityProcess } from 'electron';
import { openEngine, StoreError, type Engine, type KeyProtector } from 'gatehouse';
import {
  bootstrapAdmin,
  createAppHandlers,
  createAppProtocolHandler,
  dataPathFor,
  denyPermissions,
  ensureFirstPartyClient,
  FIRST_PARTY_CLIENT_ID,
  FirstRunError,
  forwardSessionChanges,
  lockDownWebContents,
  PolicyFileError,
  readPolicyFile,
  registerIpcHandlers,
  safeStorageKeyProtector,
  safeStorageProblem,
  safeStorageSecretStore,
  secureWebPreferences,
  superviseResourceService,
  utilityProcessLauncher,
  type AppPolicy,
  type SecretFile,
} from 'gatehouse/electron';

/**
 * The Gatehouse desktop app's main process: one window on `gatehouse://app/`, the engine in this
 * process, the resource service as a utility process. Everything it does is in src/ (gatehouse and
 * gatehouse/electron); this file only wires the real Electron objects to it.
 */

const SCHEME = 'gatehouse';
const APP_ORIGIN = `${SCHEME}://app`;
/** dist-app/, where the build puts this file (main/main.js), the preload and the renderer. */
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const PRELOAD = join(APP_DIR, 'preload.cjs');
const RENDERER_DIR = join(APP_DIR, 'renderer');

const log = (line: string) => console.error(`gatehouse: ${line}`);

// Before ready: the scheme must be privileged to have an origin, secure context and fetch.
protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
app.enableSandbox();

/** Closers of what has been started, run in reverse order when the app quits. */
const closers: Array<() => unknown> = [];
let window: BrowserWindow | undefined;

if (!app.requestSingleInstanceLock()) {
  // The first instance is told (second-instance) and brings its window forward.
  app.exit(0);
} else {
  app.on('second-instance', () => {
    if (!window || window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  // Every web contents, whatever created it, stays on the app's origin.
  app.on('web-contents-created', (_event, contents) => lockDownWebContents(contents, APP_ORIGIN));
  app.on('window-all-closed', () => app.quit());
  let quitting = false;
  app.on('before-quit', (event) => {
    // Closing is asynchronous (sessions, the service, the database): quit for real once it is done.
    event.preventDefault();
    if (quitting) return;
    quitting = true;
    void shutDown().then((clean) => app.exit(clean ? 0 : 1));
  });
  start().catch((error: Error) =>
    error instanceof Refusal ? fail(error.title, error.detail) : fail('Gatehouse could not start', error.message),
  );
}

async function start(): Promise<void> {
  await app.whenReady();
  const policy = await readMachinePolicy();
  const dbPath = join(policy.dataDirectory ?? app.getPath('userData'), 'gatehouse.db');
  const protection = await safeStorageProtection(policy);

  let engine: Engine;
  try {
    engine = await openEngine({ path: dbPath, keyProtector: protection.keyProtector });
  } catch (error) {
    if (error instanceof StoreError) throw new Refusal('Gatehouse cannot open its database', `${dbPath}\n\n${error.message}`);
    throw error;
  }
  closers.push(() => engine.close());
  ensureFirstPartyClient(engine);
  await announceFirstAdmin(engine, dbPath);

  const resource = await superviseResourceService(engine, { port: 0, dataPath: dataPathFor(dbPath), log }, utilityProcessLauncher(utilityProcess));
  closers.push(() => resource.close());

  const handlers = createAppHandlers({
    engine,
    allowedOrigin: APP_ORIGIN,
    // The renderer reaches the records API through its own origin (see the protocol handler below).
    serviceUrl: APP_ORIGIN,
    // Without a secret store (safeStorage refused) the handlers offer no "stay signed in".
    appPolicy: policy,
    clientId: FIRST_PARTY_CLIENT_ID,
    ...(protection.secretStore && { secretStore: protection.secretStore }),
    log,
  });
  closers.push(() => handlers.close());
  closers.push(registerIpcHandlers(ipcMain, handlers));
  await handlers.restore();

  protocol.handle(SCHEME, createAppProtocolHandler({ rendererDir: RENDERER_DIR, serviceUrl: () => resource.url }));
  denyPermissions(session.defaultSession);

  window = new BrowserWindow({
    title: policy.appName,
    width: 1100,
    height: 760,
    show: false,
    webPreferences: secureWebPreferences(PRELOAD),
  });
  closers.push(forwardSessionChanges(window.webContents, handlers));
  window.once('ready-to-show', () => window?.show());
  await window.loadURL(`${APP_ORIGIN}/`);
}

/** Why the app refuses to start, for a person to read (no stack trace). */
class Refusal extends Error {
  constructor(
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

/** The machine policy; an invalid one is a Refusal listing every problem. */
async function readMachinePolicy(): Promise<Readonly<AppPolicy>> {
  try {
    const { policy, source } = await readPolicyFile();
    if (source) log(`machine policy read from ${source}`);
    return policy;
  } catch (error) {
    if (!(error instanceof PolicyFileError)) throw error;
    throw new Refusal('The machine policy is not valid', `${error.path}\n\n${error.problems.join('\n')}\n\nAsk your IT department to correct it.`);
  }
}

/** safeStorage for what policy wants kept across restarts; where it protects nothing, said once and done without. */
async function safeStorageProtection(policy: Readonly<AppPolicy>): Promise<{ keyProtector?: KeyProtector; secretStore?: SecretFile }> {
  if (!policy.persistentSigningKeys && !policy.staySignedInAllowed) return {};
  const problem = await safeStorageProblem(safeStorage);
  if (problem) {
    log(problem);
    return {};
  }
  const protection: { keyProtector?: KeyProtector; secretStore?: SecretFile } = {};
  if (policy.persistentSigningKeys) protection.keyProtector = await safeStorageKeyProtector(safeStorage);
  // Per OS user, even when the database is shared: it holds this person's refresh token.
  if (policy.staySignedInAllowed) protection.secretStore = await safeStorageSecretStore(safeStorage, join(app.getPath('userData'), 'session.secret'), { log });
  return protection;
}

/** On a new database, creates `admin` and tells the person where its one-time password is. */
async function announceFirstAdmin(engine: Engine, dbPath: string): Promise<void> {
  let file: string | undefined;
  try {
    file = await bootstrapAdmin(engine, dbPath);
  } catch (error) {
    if (error instanceof FirstRunError) throw new Refusal('Gatehouse could not create its first administrator', error.message);
    throw error;
  }
  if (!file) return;
  log(`created user "admin"; its one-time password is in ${file} and must be changed at first sign-in`);
  await dialog.showMessageBox({
    type: 'info',
    title: 'Gatehouse',
    message: 'The administrator account "admin" was created.',
    detail: `Its one-time password is in ${file} (readable by you only). Sign in as admin with it; you will then choose a new password.`,
  });
}

/** Shows why the app cannot go on, then closes what was started and exits with code 1. */
function fail(title: string, detail: string): void {
  log(`${title}: ${detail.replace(/\s*\n+\s*/g, '; ')}`);
  dialog.showErrorBox(title, detail);
  void shutDown().then(() => app.exit(1));
}

let shutting: Promise<boolean> | undefined;
/** Closes IPC, then the service, then the engine; resolves false if any of it failed (each is logged). */
function shutDown(): Promise<boolean> {
  shutting ??= (async () => {
    let clean = true;
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        clean = false;
        log(`while closing: ${(error as Error).message}`);
      }
    }
    return clean;
  })();
  return shutting;
}
