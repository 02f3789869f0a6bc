import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, realpathSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A nudge between processes that share a database: after the CLI commits a change (a disable, an
 * unlock, a revoke), it tells each running host of the file (`gatehouse serve`, the app) to look
 * now, and waits until they have, so the very next request anywhere sees the change. Hosts still
 * look on their own every quarter second (ChangeFeed); the nudge only makes it immediate.
 *
 * Each host listens on its own local socket (a Unix socket in a private per-user directory, or a
 * named pipe on Windows) named after the database's real path; what it hears is only "look now".
 */
const WORD = 'changed\n';
const REPLY = 'ok\n';
const MAX_LINE = 64;
const CONNECTION_TIMEOUT_MS = 5000;

export interface ChangeListener {
  close(): Promise<void>;
}

/**
 * Listens for nudges about the database at `dbPath`; `onChange` runs for each (one at a time), and
 * the nudging process is answered once it has finished. Never throws: a host that cannot listen
 * (e.g. an unsafe directory) still sees changes by polling.
 */
export async function listenForChanges(
  dbPath: string,
  onChange: () => Promise<void>,
  warn: (message: string) => void = (message) => process.emitWarning(`gatehouse: ${message}`),
): Promise<ChangeListener | undefined> {
  const place = signalPlace(dbPath);
  if (!place) {
    warn('no private directory for change signals; changes from other processes are seen within a quarter second.');
    return undefined;
  }
  const path = place.socketFor(process.pid);
  let running = Promise.resolve();
  const server = createServer((socket) => {
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let heard = '';
    socket.on('data', (chunk: Buffer) => {
      heard += chunk.toString('utf8');
      if (heard.length > MAX_LINE) return socket.destroy();
      if (!heard.includes('\n')) return;
      socket.pause();
      running = running.then(onChange).then(
        () => void socket.end(REPLY),
        (error: Error) => {
          warn(`looking for changes failed: ${error.message}`);
          socket.destroy();
        },
      );
    });
  });
  try {
    removeStale(path);
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(path, () => {
        server.off('error', fail);
        done();
      });
    });
  } catch (error) {
    warn(`cannot listen for change signals at ${path}: ${(error as Error).message}`);
    return undefined;
  }
  return {
    close: () => closeServer(server, path, place.isPipe),
  };
}

/**
 * Tells every running host of the database at `dbPath` to look for changes now, and waits (at most
 * a few seconds) until each has. Quietly does nothing when no host is running.
 */
export async function announceChange(dbPath: string): Promise<void> {
  const place = signalPlace(dbPath);
  if (!place) return;
  await Promise.all(place.sockets().map((path) => nudge(path, place.isPipe)));
}

/**
 * How many hosts of the database at `dbPath` are running now (each that answers on its socket;
 * a host that died without closing is not counted). Asking nudges them, which is harmless.
 */
export async function runningHosts(dbPath: string): Promise<number> {
  const place = signalPlace(dbPath);
  if (!place) return 0;
  const answered = await Promise.all(place.sockets().map((path) => nudge(path, place.isPipe)));
  return answered.filter(Boolean).length;
}

interface SignalPlace {
  isPipe: boolean;
  socketFor(pid: number): string;
  sockets(): string[];
}

/** The sockets of one database: `<dir>/<id>-<pid>.sock`, or `\\.\pipe\gatehouse-<id>-<pid>`. */
function signalPlace(dbPath: string): SignalPlace | undefined {
  const id = createHash('sha256').update(realPath(dbPath)).digest('hex').slice(0, 24);
  if (process.platform === 'win32') {
    const prefix = `gatehouse-${id}-`;
    return {
      isPipe: true,
      socketFor: (pid) => `\\\\.\\pipe\\${prefix}${pid}`,
      sockets: () => listDir('\\\\.\\pipe\\').filter((name) => name.startsWith(prefix)).map((name) => `\\\\.\\pipe\\${name}`),
    };
  }
  const dir = privateDir();
  if (!dir) return undefined;
  const prefix = `${id}-`;
  return {
    isPipe: false,
    socketFor: (pid) => join(dir, `${prefix}${pid}.sock`),
    sockets: () => listDir(dir).filter((name) => name.startsWith(prefix) && name.endsWith('.sock')).map((name) => join(dir, name)),
  };
}

/**
 * A directory only this OS user can enter: $XDG_RUNTIME_DIR (made so by the system), else one we
 * make under the temp directory, refused if someone else made it first or opened it up.
 */
function privateDir(): string | undefined {
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime ? join(runtime, 'gatehouse') : join(tmpdir(), `gatehouse-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    const mine = process.getuid === undefined || stat.uid === process.getuid();
    return stat.isDirectory() && mine && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves true if a host was listening there. */
function nudge(path: string, isPipe: boolean): Promise<boolean> {
  return new Promise((done) => {
    let connected = false;
    const socket: Socket = createConnection(path);
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () => socket.destroy());
    socket.on('connect', () => {
      connected = true;
      socket.write(WORD);
    });
    socket.on('data', () => socket.end());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Nobody listens there any more: a host that died without closing. Tidy up after it.
      if (!isPipe && error.code === 'ECONNREFUSED') removeQuietly(path);
    });
    socket.on('close', () => done(connected));
  });
}

function removeStale(path: string): void {
  if (process.platform !== 'win32') removeQuietly(path);
}

function closeServer(server: Server, path: string, isPipe: boolean): Promise<void> {
  return new Promise((done) => {
    server.close(() => {
      if (!isPipe) removeQuietly(path);
      done();
    });
  });
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
