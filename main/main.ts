import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, utilityProcess } from 'electron';
import { forwardAudit, openEngine, OsLogForwarder, ProvisioningError, StoreError, type Engine, type KeyProtector } from 'gatehouse';
import {
  AppPolicyError,
  applyShippedProvisioning,
  bootstrapAdmin,
  createAppHandlers,
  createAppProtocolHandler,
  dataPathFor,
  denyPermissions,
  effectivePolicy,
  ensureFirstPartyClient,
  FIRST_PARTY_CLIENT_ID,
  FirstRunError,
  forwardSessionChanges,
  lockDownWebContents,
  PolicyFileError,
  readPolicySources,
  registerIpcHandlers,
  RegistryPolicyError,
  safeStorageKeyProtector,
  safeStorageProblem,
  safeStorageSecretStore,
  secureWebPreferences,
  shippedProvisioningPath,
  superviseResourceService,
  USER_SETTINGS_FILE,
  utilityProcessLauncher,
  type AppPolicy,
  type EffectivePolicy,
  type PolicyLayers,
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
/**
 * SQLite's native module for Electron's ABI (node_modules' own is built for Node; docs/it-guide.md):
 * packaged, the one shipped in resources/native/ (electron-builder.yml's extraResources); under
 * `npm start`, the project's native/electron/<platform>-<arch>/ copy when there is one.
 */
const PROJECT_SQLITE_BINDING = join(APP_DIR, '..', 'native', 'electron', `${process.platform}-${process.arch}`, 'better_sqlite3.node');
const SQLITE_BINDING = app.isPackaged
  ? join(process.resourcesPath, 'native', 'better_sqlite3.node')
  : existsSync(PROJECT_SQLITE_BINDING)
    ? PROJECT_SQLITE_BINDING
    : undefined;

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
  // What decides where the database is and how keys are kept comes before it opens; provisioning,
  // kept in the database, cannot set those and joins the other sources once it is open.
  const layers = await readPolicyLayers();
  const beforeOpen = policyInForce(layers).policy;
  const dbPath = join(beforeOpen.dataDirectory ?? app.getPath('userData'), 'gatehouse.db');
  const protection = await safeStorageProtection(beforeOpen);

  let engine: Engine;
  try {
    engine = await openEngine({ path: dbPath, keyProtector: protection.keyProtector, sqliteBinding: SQLITE_BINDING });
  } catch (error) {
    if (error instanceof StoreError) throw new Refusal('Gatehouse cannot open its database', `${dbPath}\n\n${error.message}`);
    throw error;
  }
  if (beforeOpen.auditForwarding) {
    // Closed after the engine (closers run in reverse), so the engine's closing checkpoint is forwarded too.
    const osLog = new OsLogForwarder({ log });
    closers.push(() => osLog.close());
    forwardAudit(engine, osLog);
  }
  closers.push(() => engine.close());
  // Damage found by the integrity check that runs after the open: the engine has closed itself.
  engine.on('damaged', (error) => fail('Gatehouse found its database damaged', `${dbPath}\n\n${error.message}\n\nAsk your IT department to restore a backup.`));
  // Before the first administrator is made: a provisioned installation needs no random one.
  await applyProvisioning(engine);
  const inForce = policyInForce({ ...layers, provisioning: engine.provisionedAppSettings() });
  const policy = inForce.policy;
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
    effectivePolicy: inForce,
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
    webPreferences: secureWebPreferences(PRELOAD, { devTools: !app.isPackaged }),
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

/**
 * Every policy source but provisioning (the person's settings, the machine policy file, Group Policy
 * in the registry on Windows); IT's policy that cannot be used is a Refusal listing every problem.
 */
async function readPolicyLayers(): Promise<Omit<PolicyLayers, 'provisioning'>> {
  try {
    const sources = await readPolicySources({ userSettingsPath: join(app.getPath('userData'), USER_SETTINGS_FILE) });
    sources.notes.forEach(log);
    return sources.layers;
  } catch (error) {
    throw asPolicyRefusal(error);
  }
}

/** The app policy in force and where each setting came from. */
function policyInForce(layers: PolicyLayers): EffectivePolicy {
  try {
    return effectivePolicy(layers);
  } catch (error) {
    throw asPolicyRefusal(error);
  }
}

function asPolicyRefusal(error: unknown): unknown {
  const where = error instanceof PolicyFileError ? error.path : error instanceof RegistryPolicyError ? error.key : error instanceof AppPolicyError ? 'The policy in force' : undefined;
  if (where === undefined) return error;
  const { problems } = error as { problems: readonly string[] };
  return new Refusal('The policy is not valid', `${where}\n\n${problems.join('\n')}\n\nAsk your IT department to correct it.`);
}

/** The provisioning file shipped in the app's resources (packaged builds only); a refused one is a Refusal listing every problem. */
async function applyProvisioning(engine: Engine): Promise<void> {
  if (!app.isPackaged) return;
  const path = shippedProvisioningPath(process.resourcesPath);
  try {
    const result = await applyShippedProvisioning(engine, path);
    if (result?.status === 'applied') log(`provisioning version ${result.version} applied from ${path}: ${result.changes.length} change(s)`);
  } catch (error) {
    if (!(error instanceof ProvisioningError)) throw error;
    throw new Refusal('The provisioning file is not valid', `${path}\n\n${error.problems.join('\n')}\n\nAsk your IT department to correct it.`);
  }
}

/**
 * safeStorage for what outlives a restart: the signing keys, when policy asks for that before the
 * database opens, and the kept sign-in whenever safeStorage protects anything. The policy in force,
 * provisioning included, decides later whether a sign-in may be kept; one it no longer allows is
 * then found, ended and removed. Where safeStorage protects nothing, it is said once and done without.
 */
async function safeStorageProtection(policy: Readonly<AppPolicy>): Promise<{ keyProtector?: KeyProtector; secretStore?: SecretFile }> {
  const problem = await safeStorageProblem(safeStorage);
  if (problem) {
    if (policy.persistentSigningKeys || policy.staySignedInAllowed) log(problem);
    return {};
  }
  const protection: { keyProtector?: KeyProtector; secretStore?: SecretFile } = {};
  if (policy.persistentSigningKeys) protection.keyProtector = await safeStorageKeyProtector(safeStorage);
  // Per OS user, even when the database is shared: it holds this person's refresh token.
  protection.secretStore = await safeStorageSecretStore(safeStorage, join(app.getPath('userData'), 'session.secret'), { log });
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
