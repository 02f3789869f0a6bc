import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, StoreError } from '../dist/index.js';
import { RecordStore } from '../dist/resource/records.js';
import { copyDatabaseFiles } from '../dist/store/backup.js';
import { accessOf, applyAccess, createDatabaseFile, PRIVATE_ACCESS } from '../dist/store/file-modes.js';
import { PASSWORD, seeded, tempDir } from './helpers.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

// A umask that takes group write away, as most systems have: a shared file must be 0660 all the same.
let umaskBefore: number;
beforeAll(() => {
  umaskBefore = process.umask(0o022);
});
afterAll(() => {
  process.umask(umaskBefore);
});

/** A folder with exactly this mode (setgid and sticky bits too) and group, in a temp dir any user may pass through. */
function folder(mode: number, gid?: number): string {
  const parent = tempDir();
  chmodSync(parent, 0o755); // another OS user must reach the folder through it
  const dir = join(parent, 'data');
  mkdirSync(dir);
  if (gid !== undefined) chownSync(dir, process.getuid!(), gid);
  chmodSync(dir, mode); // after chown, which may clear the setgid bit
  return dir;
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o7777;
}

/** The mode of a database file and of the -wal and -shm files SQLite made beside it. */
function modes(path: string): number[] {
  return ['', '-wal', '-shm'].map((suffix) => modeOf(`${path}${suffix}`));
}

/** Opens the records database (the resource service's) at `path`, writes a record, and leaves it open. */
async function records(path: string): Promise<RecordStore> {
  const store = await RecordStore.open(path);
  store.create('alice', { title: 'one', body: 'record' });
  return store;
}

describe('database files follow their folder', () => {
  it.each([
    ['its group may write', '2770', '0660'],
    ['private', '0700', '0600'],
    ['anyone may write to with the sticky bit (like /tmp)', '1777', '0600'],
  ])('in a folder %s (%s), the databases and their -wal and -shm are created %s whatever the umask', async (_kind, folderOctal, fileOctal) => {
    const [folderMode, fileMode] = [Number.parseInt(folderOctal, 8), Number.parseInt(fileOctal, 8)];
    expect(process.umask() & 0o020).toBe(0o020);
    const dir = folder(folderMode);
    const path = join(dir, 'g.db');
    await seeded({ path });
    const store = await records(join(dir, 'g.data.db'));
    try {
      expect(modes(path)).toEqual([fileMode, fileMode, fileMode]);
      expect(modes(join(dir, 'g.data.db'))).toEqual([fileMode, fileMode, fileMode]);
      expect(statSync(path).gid).toBe(statSync(dir).gid);
      expect(modeOf(dir)).toBe(folderMode);
    } finally {
      store.close();
    }
  });

  it('a folder anyone may write to without the sticky bit (0777) is refused, before any file is created, and so is a database already there', async () => {
    const dir = folder(0o777);
    for (const open of [() => openEngine({ path: join(dir, 'g.db'), hashWorkers: 1 }), () => RecordStore.open(join(dir, 'g.data.db'))]) {
      const error = await open().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((error as StoreError).message).toMatch(/anyone may write to its folder .*data \(mode 0777, no sticky bit\), so anyone could replace the database/);
    }
    expect(readdirSync(dir)).toEqual([]);

    // A database made while the folder was private is refused once anyone may replace it, untouched.
    chmodSync(dir, 0o700);
    const { engine, path } = await seeded({ path: join(dir, 'g.db') });
    await engine.close();
    const bytes = readFileSync(path);
    chmodSync(dir, 0o777);
    await expect(openEngine({ path, hashWorkers: 1 })).rejects.toMatchObject({ name: 'StoreError', code: 'unavailable' });
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['g.db']);
  });
});

interface ChildAnswer {
  signedIn?: boolean;
  users?: string[];
  error?: { name: string; code: string; message: string };
}

const SIGN_IN_ONCE = fileURLToPath(new URL('./fixtures/sign-in-once.mjs', import.meta.url));

/**
 * As another OS user (uid and gid 65534): opens an engine on `path`, signs alice in (a write: a
 * session, audit events) and lists the users (test/fixtures/sign-in-once.mjs).
 */
function asAnotherUser(path: string, user: { uid: number; gid: number } = { uid: NOBODY, gid: NOBODY }): Promise<ChildAnswer> {
  return signInAs(path, user, false).answer;
}

/**
 * Runs test/fixtures/sign-in-once.mjs as `user`; with `hold`, the child keeps the database open
 * (and the -wal and -shm it made) after answering, until `release()`, which resolves once it exited.
 */
function signInAs(path: string, user: { uid: number; gid: number }, hold: boolean): { answer: Promise<ChildAnswer>; release(): Promise<void> } {
  // Without XDG_RUNTIME_DIR: root's is not this user's to use.
  const { XDG_RUNTIME_DIR: _rootsOwn, ...env } = process.env;
  const child = spawn(process.execPath, [SIGN_IN_ONCE, path, PASSWORD, ...(hold ? ['--hold'] : [])], { uid: user.uid, gid: user.gid, cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'] });
  if (!hold) child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`the child exited with ${code}: ${stderr}`))));
  });
  const answer = new Promise<ChildAnswer>((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve(JSON.parse(line) as ChildAnswer);
    });
    closed.then(() => reject(new Error(`the child answered nothing: ${stderr}`)), reject);
  });
  return {
    answer,
    release: () => {
      child.stdin.end();
      return closed;
    },
  };
}

/** A database made by this (root) process: a public client and alice. */
async function madeByRoot(path: string): Promise<void> {
  const engine = await openEngine({ path, hashWorkers: 1 });
  engine.clients.add({ id: 'desktop', secret: 'none', scope: ['records:read'] });
  await engine.users.add({ username: 'alice', password: PASSWORD, scope: ['records:read'] });
  await engine.close();
}

describe('a second OS user', () => {
  it.runIf(isRoot)('opens a database another user created in a shared folder, signs in and lists users (needs root: only root can run a process as another user)', async () => {
    const shared = folder(0o2770, NOBODY);
    const path = join(shared, 'g.db');
    await madeByRoot(path);
    expect([modeOf(path), statSync(path).uid, statSync(path).gid]).toEqual([0o660, 0, NOBODY]);

    expect(await asAnotherUser(path)).toEqual({ signedIn: true, users: ['alice'] });
    // And the first user still opens what the second one wrote.
    const engine = await openEngine({ path, hashWorkers: 1 });
    expect(engine.sessions.list().length).toBe(1);
    await engine.close();
  });

  it.runIf(isRoot)('two users of the folder\'s group, neither root, use it at once: the -wal and -shm the first makes are the group\'s too (needs root: to run processes as other users)', async () => {
    const shared = folder(0o2770, NOBODY);
    const path = join(shared, 'g.db');
    await madeByRoot(path);
    const first = signInAs(path, { uid: NOBODY, gid: NOBODY }, true);
    try {
      expect(await first.answer).toEqual({ signedIn: true, users: ['alice'] });
      // Made by the first user while it holds the database open: its -wal and -shm.
      for (const suffix of ['-wal', '-shm']) {
        const made = statSync(`${path}${suffix}`);
        expect([made.mode & 0o7777, made.uid, made.gid], suffix).toEqual([0o660, NOBODY, NOBODY]);
      }
      // Another user of the group (not root, so file modes hold) writes beside it.
      expect(await asAnotherUser(path, { uid: NOBODY - 1, gid: NOBODY })).toEqual({ signedIn: true, users: ['alice'] });
    } finally {
      await first.release();
    }
    const engine = await openEngine({ path, hashWorkers: 1 });
    expect(engine.sessions.list().length).toBe(2);
    await engine.close();
  });

  it.runIf(isRoot)('cannot open one in a private folder, nor a 0600 file in a folder without setgid (needs root: only root can run a process as another user)', async () => {
    const privateFolder = folder(0o700, NOBODY);
    await madeByRoot(join(privateFolder, 'g.db'));
    expect(modeOf(join(privateFolder, 'g.db'))).toBe(0o600);
    expect(await asAnotherUser(join(privateFolder, 'g.db'))).toMatchObject({ error: { name: 'StoreError', code: 'unavailable', message: expect.stringMatching(/EACCES: permission denied/) } });

    // Group-writable, but without setgid a new file gets its creator's group, not the folder's: it stays private.
    const noSetgid = folder(0o770, NOBODY);
    const path = join(noSetgid, 'g.db');
    await madeByRoot(path);
    expect([modeOf(path), statSync(path).gid]).toEqual([0o600, 0]);
    expect(await asAnotherUser(path)).toMatchObject({ error: { name: 'StoreError', code: 'unavailable', message: expect.stringMatching(/EACCES: permission denied/) } });
  });
});

describe('the access a file is given', () => {
  it.runIf(process.platform === 'linux')('on Linux a folder its group may write gives new files 0660 only with the setgid bit (0770: 0600, 2770: 0660)', () => {
    for (const [mode, expected] of [[0o770, 0o600], [0o2770, 0o660]] as const) {
      const dir = folder(mode);
      const path = join(dir, 'g.db');
      // Without setgid the file still has the folder's group here (both are this process's): the bit decides, not the group.
      createDatabaseFile(path);
      expect([modeOf(path), statSync(path).gid], mode.toString(8)).toEqual([expected, statSync(dir).gid]);
    }
  });

  it('a new private file is exactly 0600 even under a umask that would take its owner\'s write away (0277)', () => {
    const path = join(folder(0o700), 'g.db');
    const before = process.umask(0o277);
    try {
      createDatabaseFile(path);
    } finally {
      process.umask(before);
    }
    expect(modeOf(path)).toBe(0o600);
  });

  it.runIf(isRoot)('a file put in place of another takes its group (needs root: to own a file of group 65534)', () => {
    const dir = folder(0o700);
    const replaced = join(dir, 'g.db');
    writeFileSync(replaced, '');
    chownSync(replaced, 0, NOBODY);
    chmodSync(replaced, 0o640);
    const fresh = join(dir, 'new.db');
    const fd = openSync(fresh, 'wx', 0o600);
    try {
      applyAccess(fd, accessOf(replaced)!);
    } finally {
      closeSync(fd);
    }
    expect([modeOf(fresh), statSync(fresh).uid, statSync(fresh).gid]).toEqual([0o640, 0, NOBODY]);
  });

  it.runIf(isRoot)('a process that may not give the new file the replaced file\'s group leaves it no group or other bits (needs root: to run as uid 65534)', async () => {
    const dir = folder(0o755);
    const replaced = join(dir, 'g.db');
    writeFileSync(replaced, '');
    chmodSync(replaced, 0o664); // root's, group 0: no group of uid 65534
    const own = join(dir, 'own');
    mkdirSync(own);
    chownSync(own, NOBODY, NOBODY);
    const fresh = join(own, 'new.db');
    const script = `
      import { closeSync, openSync } from 'node:fs';
      import { accessOf, applyAccess } from ${JSON.stringify(new URL('../dist/store/file-modes.js', import.meta.url).href)};
      const fd = openSync(${JSON.stringify(fresh)}, 'wx', 0o600);
      applyAccess(fd, accessOf(${JSON.stringify(replaced)}));
      closeSync(fd);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise((done) => child.once('close', done));
    expect([code, stderr]).toEqual([0, '']);
    expect([modeOf(fresh), statSync(fresh).uid, statSync(fresh).gid]).toEqual([0o600, NOBODY, NOBODY]);
  });
});

describe('copying database files follows no link', () => {
  it('a -wal that is a symbolic link is refused, naming it, and nothing is left of the copy', () => {
    const dir = folder(0o700);
    const from = join(dir, 'g.db');
    writeFileSync(from, 'main');
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'secret bytes', { mode: 0o600 });
    symlinkSync(secret, `${from}-wal`);
    expect(() => copyDatabaseFiles(from, join(dir, 'copy.db'), PRIVATE_ACCESS)).toThrow(`${from}-wal is a symbolic link, which is not followed`);
    expect(readdirSync(dir).sort()).toEqual(['g.db', 'g.db-wal', 'secret']);
  });

  it('a destination name taken by a dangling symbolic link is refused, and its target not created', () => {
    const dir = folder(0o700);
    const from = join(dir, 'g.db');
    writeFileSync(from, 'main');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'copy.db'));
    expect(() => copyDatabaseFiles(from, join(dir, 'copy.db'), PRIVATE_ACCESS)).toThrow(/EEXIST/);
    expect(readdirSync(dir).sort()).toEqual(['copy.db', 'g.db']);
  });

  it.runIf(isRoot)('a -wal with content of another owner than the database is refused (needs root: to give a file to uid 65534)', () => {
    const dir = folder(0o700);
    const from = join(dir, 'g.db');
    writeFileSync(from, 'main');
    writeFileSync(`${from}-wal`, 'not the database\'s');
    chownSync(`${from}-wal`, NOBODY, NOBODY);
    expect(() => copyDatabaseFiles(from, join(dir, 'copy.db'), PRIVATE_ACCESS)).toThrow(`${from}-wal belongs to another OS user than ${from} (uid ${NOBODY}, not 0)`);
    expect(readdirSync(dir).sort()).toEqual(['g.db', 'g.db-wal']);
    // An empty one (SQLite leaves those) is simply not copied.
    rmSync(`${from}-wal`);
    writeFileSync(`${from}-wal`, '');
    chownSync(`${from}-wal`, NOBODY, NOBODY);
    copyDatabaseFiles(from, join(dir, 'copy.db'), PRIVATE_ACCESS);
    expect([readFileSync(join(dir, 'copy.db'), 'utf8'), modeOf(join(dir, 'copy.db'))]).toEqual(['main', 0o600]);
    expect(readdirSync(dir).sort()).toEqual(['copy.db', 'g.db', 'g.db-wal']);
  });
});
