import { describe, expect, it } from 'vitest';
import {
  denyPermissions,
  externalLinkTarget,
  isAppUrl,
  lockDownWebContents,
  normalizeAppOrigin,
  permissionAllowed,
  secureWebPreferences,
  type LockableWebContents,
  type PermissionSession,
} from '../dist/electron/window-defaults.js';

// The window's security decisions as pure functions, and their wiring onto objects shaped like
// Electron's WebContents and Session (recorders: there is no Electron binary here; main/ is
// typechecked against the real electron types).

const APP = 'gatehouse://app';

describe('secureWebPreferences', () => {
  it('turns on isolation and the sandbox and turns off Node, webviews, spellcheck and drag-and-drop navigation', () => {
    expect(secureWebPreferences('/opt/gatehouse/preload.cjs')).toEqual({
      preload: '/opt/gatehouse/preload.cjs',
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
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      devTools: false,
    });
    expect(secureWebPreferences('/opt/gatehouse/preload.cjs', { devTools: true }).devTools).toBe(true);
  });

  it('refuses a relative preload path', () => {
    expect(() => secureWebPreferences('preload.cjs')).toThrow('preloadPath must be an absolute path');
  });
});

describe('isAppUrl', () => {
  it.each([`${APP}/`, `${APP}`, `${APP}/index.html?x=1#top`, `${APP}/api/records`])('accepts %s', (url) => {
    expect(isAppUrl(url, APP)).toBe(true);
  });

  it.each([
    'gatehouse://app.example/',
    'gatehouse://application/',
    'gatehouse://app:1234/',
    'gatehouse://user:pw@app/',
    'gatehouse://evil/',
    'https://app/',
    'http://127.0.0.1:8471/api/records',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'about:blank',
    'data:text/html,<p>hi',
    'not a url',
    '',
  ])('refuses %s', (url) => {
    expect(isAppUrl(url, APP)).toBe(false);
  });

  it('compares against the origin however it was written (trailing slash)', () => {
    expect(isAppUrl(`${APP}/x`, `${APP}/`)).toBe(true);
  });

  it.each(['gatehouse://app/renderer', 'gatehouse://', 'app', 'gatehouse://u@app', 'gatehouse://app?x'])('refuses %s as the app origin', (origin) => {
    expect(() => normalizeAppOrigin(origin)).toThrow('appOrigin must be a scheme and host');
  });
});

describe('externalLinkTarget', () => {
  it('hands http and https links to the OS browser', () => {
    expect(externalLinkTarget('https://intranet.example/help')).toBe('https://intranet.example/help');
    expect(externalLinkTarget('http://intranet.example')).toBe('http://intranet.example/');
  });

  it.each(['file:///C:/Windows/System32/calc.exe', 'javascript:alert(1)', 'mailto:it@example.com', 'ms-settings:', 'https://a:b@example.com/', 'smb://server/share', 'nonsense'])(
    'never hands %s to the OS',
    (url) => {
      expect(externalLinkTarget(url)).toBeUndefined();
    },
  );
});

describe('permissionAllowed', () => {
  it('refuses every permission by default, even to the app itself', () => {
    for (const permission of ['media', 'notifications', 'clipboard-read', 'local-network-access', 'hid', 'geolocation', 'openExternal']) {
      expect(permissionAllowed(permission, `${APP}/`)).toBe(false);
    }
  });

  it('grants a permission the app listed only to its own origin', () => {
    const exceptions = { appOrigin: APP, permissions: ['clipboard-sanitized-write'] };
    expect(permissionAllowed('clipboard-sanitized-write', `${APP}/`, exceptions)).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', APP, exceptions)).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'https://example.com/', exceptions)).toBe(false);
    expect(permissionAllowed('clipboard-sanitized-write', undefined, exceptions)).toBe(false);
    expect(permissionAllowed('clipboard-read', `${APP}/`, exceptions)).toBe(false);
  });
});

/** Records what lockDownWebContents registers, so each listener can be called as Electron would. */
function recordingContents() {
  const listeners = new Map<string, (event: never) => void>();
  let openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  const contents: LockableWebContents = {
    on: (name: string, listener: (event: never) => void) => listeners.set(name, listener),
    setWindowOpenHandler: (handler) => (openHandler = handler),
  };
  const fire = (name: string, event: { url?: string; isMainFrame?: boolean }) => {
    let prevented = false;
    listeners.get(name)!({ ...event, preventDefault: () => (prevented = true) } as never);
    return prevented;
  };
  return { contents, fire, open: (url: string) => openHandler!({ url }), events: () => [...listeners.keys()].sort() };
}

describe('lockDownWebContents', () => {
  it('prevents navigations and redirects away from the app origin, in the main frame and in subframes', () => {
    const { contents, fire, events } = recordingContents();
    lockDownWebContents(contents, APP);
    expect(events()).toEqual(['will-attach-webview', 'will-frame-navigate', 'will-navigate', 'will-redirect']);
    expect(fire('will-navigate', { url: `${APP}/account`, isMainFrame: true })).toBe(false);
    expect(fire('will-navigate', { url: 'https://example.com/', isMainFrame: true })).toBe(true);
    expect(fire('will-redirect', { url: 'http://127.0.0.1:8471/', isMainFrame: true })).toBe(true);
    expect(fire('will-frame-navigate', { url: 'https://example.com/', isMainFrame: false })).toBe(true);
    expect(fire('will-frame-navigate', { url: `${APP}/frame`, isMainFrame: false })).toBe(false);
    expect(fire('will-attach-webview', {})).toBe(true);
  });

  it('denies every new window, and hands http(s) links to openExternal only when the app gives one', async () => {
    const plain = recordingContents();
    lockDownWebContents(plain.contents, APP);
    expect(plain.open('https://example.com/')).toEqual({ action: 'deny' });

    const opened: string[] = [];
    const linked = recordingContents();
    lockDownWebContents(linked.contents, APP, { openExternal: (url) => opened.push(url) });
    expect(linked.open('https://intranet.example/help')).toEqual({ action: 'deny' });
    expect(linked.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(linked.open(`${APP}/popup`)).toEqual({ action: 'deny' });
    await Promise.resolve();
    expect(opened).toEqual(['https://intranet.example/help']);
  });
});

describe('denyPermissions', () => {
  it('answers no to permission requests, permission checks, devices and screen capture', () => {
    const handlers: Record<string, (...args: never[]) => unknown> = {};
    const session: PermissionSession = {
      setPermissionRequestHandler: (handler) => void (handlers.request = handler!),
      setPermissionCheckHandler: (handler) => void (handlers.check = handler!),
      setDevicePermissionHandler: (handler) => void (handlers.device = handler!),
      setDisplayMediaRequestHandler: (handler) => void (handlers.display = handler!),
    };
    denyPermissions(session);
    const answers: unknown[] = [];
    const request = handlers.request as (w: unknown, p: string, cb: (granted: boolean) => void, d: { requestingUrl: string }) => void;
    request(null, 'media', (granted) => answers.push(granted), { requestingUrl: `${APP}/` });
    const check = handlers.check as (w: unknown, p: string, origin: string) => boolean;
    answers.push(check(null, 'notifications', APP));
    const device = handlers.device as (d: { deviceType: string; origin: string }) => boolean;
    answers.push(device({ deviceType: 'usb', origin: APP }));
    const display = handlers.display as (r: unknown, cb: (s: null) => void) => void;
    display({}, (streams) => answers.push(streams));
    expect(answers).toEqual([false, false, false, null]);
  });
});
