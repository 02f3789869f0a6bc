import { isAbsolute } from 'node:path';

/**
 * The app window's security defaults (the Electron security checklist). The decisions are pure
 * functions; the wiring takes small structural interfaces that Electron's own WebContents and
 * Session satisfy, so src/ never imports electron.
 */

/** The webPreferences of every app window: sandboxed, isolated, no Node, nothing extra. */
export interface SecureWebPreferences {
  readonly preload: string;
  readonly contextIsolation: true;
  readonly sandbox: true;
  readonly nodeIntegration: false;
  readonly nodeIntegrationInWorker: false;
  readonly nodeIntegrationInSubFrames: false;
  readonly webviewTag: false;
  readonly webSecurity: true;
  readonly allowRunningInsecureContent: false;
  readonly experimentalFeatures: false;
  readonly enableWebSQL: false;
  readonly plugins: false;
  readonly spellcheck: false;
  readonly navigateOnDragDrop: false;
  readonly safeDialogs: true;
  /** Off unless asked for (development): in a packaged app they would show whatever the page holds. */
  readonly devTools: boolean;
}

/**
 * `preloadPath` must be absolute (Electron resolves a relative one against nothing useful).
 * `devTools`: only for an unpackaged app (`!app.isPackaged`).
 */
export function secureWebPreferences(preloadPath: string, options: { devTools?: boolean } = {}): SecureWebPreferences {
  if (typeof preloadPath !== 'string' || !isAbsolute(preloadPath)) {
    throw new TypeError('preloadPath must be an absolute path to the bundled preload script.');
  }
  return Object.freeze({
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    enableWebSQL: false,
    plugins: false,
    // The spellchecker may download dictionaries from Google: nothing leaves an offline app.
    spellcheck: false,
    // Dropping a file on the window would navigate to it.
    navigateOnDragDrop: false,
    // A page looping on alert() gets a "prevent more dialogs" box.
    safeDialogs: true,
    devTools: options.devTools === true,
  });
}

/**
 * `scheme://host` of an origin such as `gatehouse://app`. (WHATWG URL gives `null` as the origin
 * of a non-special scheme, so the origin is compared as scheme and host.) Throws on anything else.
 */
export function normalizeAppOrigin(appOrigin: string): string {
  const parsed = parseUrl(appOrigin);
  if (!parsed || parsed.host === '' || parsed.username || parsed.password || !['', '/'].includes(parsed.pathname) || parsed.search || parsed.hash) {
    throw new TypeError(`appOrigin must be a scheme and host such as gatehouse://app (got ${JSON.stringify(appOrigin)}).`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}

/** Whether `url` belongs to the app's own origin (same scheme and host, no credentials). */
export function isAppUrl(url: string, appOrigin: string): boolean {
  const origin = normalizeAppOrigin(appOrigin);
  const parsed = parseUrl(url);
  return !!parsed && !parsed.username && !parsed.password && `${parsed.protocol}//${parsed.host}` === origin;
}

/** The URL to hand to the OS browser for a link the page tried to open: http(s) without credentials only. */
export function externalLinkTarget(url: string): string | undefined {
  const parsed = parseUrl(url);
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password) return undefined;
  return parsed.href;
}

/** A permission the app chose to grant, to its own origin only. */
export interface PermissionExceptions {
  appOrigin: string;
  /** Permission names as Electron spells them (`clipboard-sanitized-write`). */
  permissions: readonly string[];
}

/**
 * Whether a permission asked for by `requestingUrl` (a URL or an origin) is granted: never, unless
 * the app listed it and the request comes from its own origin.
 */
export function permissionAllowed(permission: string, requestingUrl: string | undefined, exceptions?: PermissionExceptions): boolean {
  if (!exceptions || requestingUrl === undefined) return false;
  return exceptions.permissions.includes(permission) && isAppUrl(requestingUrl, exceptions.appOrigin);
}

interface PreventableEvent {
  preventDefault(): void;
}

interface NavigationEvent extends PreventableEvent {
  url: string;
  isMainFrame: boolean;
}

/** What lockDownWebContents needs of Electron's WebContents. */
export interface LockableWebContents {
  on(event: 'will-navigate', listener: (event: NavigationEvent) => void): unknown;
  on(event: 'will-redirect', listener: (event: NavigationEvent) => void): unknown;
  on(event: 'will-frame-navigate', listener: (event: NavigationEvent) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface LockDownOptions {
  /**
   * Opens an http(s) link in the OS browser (Electron's `shell.openExternal`). Without it, links
   * the page tries to open in a new window go nowhere.
   */
  openExternal?: ((url: string) => unknown) | undefined;
}

/**
 * Keeps a window on the app's own origin: navigations and redirects elsewhere are prevented, in
 * the main frame and in subframes; new windows are never created; `<webview>` never attaches.
 */
export function lockDownWebContents(contents: LockableWebContents, appOrigin: string, options: LockDownOptions = {}): void {
  const origin = normalizeAppOrigin(appOrigin);
  const stayHome = (event: NavigationEvent) => {
    if (!isAppUrl(event.url, origin)) event.preventDefault();
  };
  contents.on('will-navigate', stayHome);
  contents.on('will-redirect', stayHome);
  // will-navigate covers the main frame; this covers subframes, which it does not see.
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) stayHome(event);
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  const { openExternal } = options;
  contents.setWindowOpenHandler(({ url }) => {
    const target = openExternal && externalLinkTarget(url);
    // Asynchronously, so a failing openExternal (no browser configured) can neither throw into
    // Electron's handler nor turn the answer into anything but deny; the page is not told either way.
    if (target) void Promise.resolve().then(() => openExternal(target)).catch(() => undefined);
    return { action: 'deny' };
  });
}

/** What denyPermissions needs of Electron's Session. */
export interface PermissionSession {
  setPermissionRequestHandler(
    handler: ((webContents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void) | null,
  ): void;
  setPermissionCheckHandler(handler: ((webContents: unknown, permission: string, requestingOrigin: string) => boolean) | null): void;
  setDevicePermissionHandler(handler: ((details: { origin: string; deviceType: string }) => boolean) | null): void;
  setDisplayMediaRequestHandler(handler: ((request: unknown, callback: (streams: null) => void) => void) | null): void;
}

/**
 * Refuses every permission (camera, notifications, clipboard reads, geolocation, HID/USB/serial
 * devices, screen capture, local network access …), except those the app names for its own origin.
 * The app reaches its data through its own scheme, so it needs none of them.
 */
export function denyPermissions(session: PermissionSession, exceptions?: PermissionExceptions): void {
  if (exceptions) normalizeAppOrigin(exceptions.appOrigin);
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl, exceptions)),
  );
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, exceptions));
  session.setDevicePermissionHandler(({ deviceType, origin }) => permissionAllowed(deviceType, origin, exceptions));
  // Screen capture is never offered: answering null refuses the request.
  session.setDisplayMediaRequestHandler((_request, callback) => callback(null));
}

function parseUrl(value: string): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
