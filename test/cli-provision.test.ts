import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dbPath, failure, gatehouse, ok, withLibrary } from './cli-helpers.js';
import { oauthFailure, tempDir } from './helpers.js';

const ONE_TIME = 'a one-time password for first sign-in';

function writeJson(value: unknown): string {
  const file = join(tempDir(), 'provisioning.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

function fileV(version: number, helpdeskText = 'Call extension 4357.') {
  return {
    version,
    scopes: ['records:read'],
    users: [{ username: 'dana', scope: ['records:read'], password: { oneTime: ONE_TIME } }],
    clients: [{ id: 'desktop', scope: ['records:read'] }],
    app: { helpdeskText },
  };
}

/**
 * Every row of every table: equal dumps mean equal content. Left out: the time mark, which every
 * engine (each CLI run opens one) raises as it closes, whatever the command did.
 */
function dump(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    const rows = (name: string) => db.prepare(`SELECT * FROM "${name}" ${name === 'meta' ? "WHERE key <> 'time_mark'" : ''} ORDER BY rowid`).all();
    return JSON.stringify(names.map((name) => [name, rows(name)]));
  } finally {
    db.close();
  }
}

describe('gatehouse provision', () => {
  it('applies a file, then says a second run changed nothing; --json gives the result', async () => {
    const db = dbPath();
    const file = writeJson(fileV(1));
    expect(ok(gatehouse(['provision', file, '--db', db]))).toBe(
      'Applied provisioning version 1: 4 changes.\n  user dana: add\n  client desktop: add\n  app: set\n  scopes: set\n',
    );
    const before = dump(db);
    expect(JSON.parse(ok(gatehouse(['provision', file, '--db', db, '--json'])))).toEqual({ version: 1, dryRun: false, status: 'unchanged', changes: [] });
    expect(ok(gatehouse(['provision', file, '--db', db]))).toBe('Provisioning version 1 is applied already; nothing changed.\n');
    expect(dump(db)).toBe(before);
    await withLibrary(db, async (engine) => {
      expect((await oauthFailure(engine.token({ grant_type: 'password', client_id: 'desktop', username: 'dana', password: ONE_TIME }))).code).toBe(
        'password_change_required',
      );
    });
    const newer = JSON.parse(ok(gatehouse(['provision', writeJson(fileV(2, 'Ask Sam.')), '--db', db, '--json'])));
    expect(newer).toEqual({ version: 2, dryRun: false, status: 'applied', changes: [{ kind: 'app', action: 'set' }] });
  });

  it('--dry-run says what would change and changes nothing, and creates no database', () => {
    const db = dbPath();
    const file = writeJson(fileV(1));
    const dry = JSON.parse(ok(gatehouse(['provision', file, '--db', db, '--dry-run', '--json'])));
    expect(dry).toMatchObject({ version: 1, dryRun: true, status: 'applied' });
    expect(dry.changes).toHaveLength(4);
    expect(existsSync(db)).toBe(false);

    ok(gatehouse(['provision', file, '--db', db]));
    const before = dump(db);
    const text = ok(gatehouse(['provision', writeJson(fileV(2, 'Ask Sam.')), '--db', db, '--dry-run']));
    expect(text).toBe('Dry run: version 2 would make 1 change; nothing was changed.\n  app: set\n');
    expect(dump(db)).toBe(before);
  });

  it('refuses an invalid file with exit 1 and every problem on stderr, one line each, changing nothing', () => {
    const db = dbPath();
    const bad = { ...fileV(1), users: [{ username: 'dana', scope: ['admin'], password: { hash: 'plain text' } }], extra: 1 };
    const file = writeJson(bad);
    const run = gatehouse(['provision', file, '--db', db]);
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: '' });
    expect(run.stderr.split('\n')).toEqual([
      `gatehouse: ${file} was refused (3 problems); nothing was changed:`,
      '  (file): Unrecognized key: "extra"',
      '  users[0].scope[0]: "admin" is not among the file\'s scopes',
      '  users[0].password.hash: must be an argon2id PHC string with m=19456..77824, t=2..8, p=1..4 (make one with: gatehouse hash-password)',
      '',
    ]);
    // No database was created for a refused file.
    expect(existsSync(db)).toBe(false);

    ok(gatehouse(['provision', writeJson(fileV(3)), '--db', db]));
    const before = dump(db);
    const older = writeJson(fileV(2));
    const refused = gatehouse(['provision', older, '--db', db]);
    expect([refused.status, refused.stdout, refused.stderr]).toEqual([
      1,
      '',
      `gatehouse: ${older} was refused (1 problem); nothing was changed:\n  version: 2 is older than version 3, which was applied already\n`,
    ]);
    expect(dump(db)).toBe(before);
  });

  it('refuses what is not JSON, and usage errors exit 2', () => {
    const db = dbPath();
    const notJson = writeJson('{ "version": 1,');
    const stderr = gatehouse(['provision', notJson, '--db', db]).stderr;
    expect(stderr).toMatch(/refused \(1 problem\); nothing was changed:\n {2}\(file\): not UTF-8 JSON/);
    expect(failure(gatehouse(['provision', '--db', db]), 2)).toBe('gatehouse provision needs FILE.');
    expect(failure(gatehouse(['provision', notJson, '--db', db, '--dry-run=yes']), 2)).toMatch(/dry-run/);
  });
});
