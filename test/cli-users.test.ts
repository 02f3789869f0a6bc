import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, UserInfo } from '../dist/index.js';
import { dbPath, expectRevoked, failure, gatehouse, isoSecond, ok, recorder, tableRows, withLibrary } from './cli-helpers.js';
import { oauthFailure, PASSWORD, tempDir } from './helpers.js';

const NEW_PASSWORD = 'a brand new passphrase of hers';
const NEWER_PASSWORD = 'and another one, changed by herself';
const ISO_SECOND = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const USER_FIELDS = ['createdAt', 'disabled', 'displayName', 'id', 'mustChangePassword', 'passwordChangedAt', 'scope', 'updatedAt', 'username'];

const signIn = (engine: Engine, username: string, password: string) =>
  engine.token({ grant_type: 'password', client_id: 'desktop', username, password });

describe('gatehouse users', () => {
  it('adds, lists, shows, disables, enables and removes users, as tables and as JSON', () => {
    const db = dbPath();
    const { run, outputs } = recorder(db);

    const added = ok(run(['users', 'add', 'Alice', '--scope', 'records:read  records:write', '--display-name', 'Alice Liddell', '--password-stdin'], `${PASSWORD}\n`));
    expect(added).toBe('Added user "Alice".\n');
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const bobJson = ok(run(['users', 'add', 'bob', '--must-change', '--password-stdin', '--json'], PASSWORD));
    expect(bobJson.trimEnd().split('\n')).toHaveLength(1);
    const bob = JSON.parse(bobJson) as UserInfo;
    expect(Object.keys(bob).sort()).toEqual(USER_FIELDS); // never a password hash
    expect(bob).toMatchObject({ username: 'bob', displayName: null, scope: [], mustChangePassword: true, disabled: false });

    const rows = tableRows(ok(run(['users', 'list'])), ['NAME', 'DISPLAY NAME', 'SCOPE', 'FLAGS', 'CREATED']);
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      ['Alice', 'Alice Liddell', 'records:read records:write', '-'],
      ['bob', '-', '-', 'must-change'],
    ]);
    expect(rows.every((row) => ISO_SECOND.test(row[4]!))).toBe(true);
    const listed = JSON.parse(ok(run(['users', 'list', '--json']))) as UserInfo[];
    expect(listed.map((u) => u.username)).toEqual(['Alice', 'bob']);
    expect(listed[1]).toEqual(bob);
    expect(rows[1]![4]).toBe(isoSecond(bob.createdAt));

    // Names are looked up case-insensitively; show prints one field a line.
    const shown = ok(run(['users', 'show', 'ALICE'])).trimEnd().split('\n');
    const fields = Object.fromEntries(shown.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
    expect(fields).toMatchObject({ username: 'Alice', 'display name': 'Alice Liddell', scope: 'records:read records:write', flags: '-' });
    expect(new Set(shown.map((line) => line.search(/(?<=:\s+)\S/))).size).toBe(1); // values aligned
    expect([fields.created, fields.updated, fields['password changed']].every((t) => ISO_SECOND.test(t!))).toBe(true);
    expect(JSON.parse(ok(run(['users', 'show', 'bob', '--json'])))).toEqual({ ...bob, signIn: { failures: 0, delayedUntil: null, lockedUntil: null } });

    expect(ok(run(['users', 'disable', 'bob']))).toBe('Disabled user "bob" and ended their sessions.\n');
    expect(tableRows(ok(run(['users', 'list'])), ['NAME', 'DISPLAY NAME', 'SCOPE', 'FLAGS', 'CREATED'])[1]![3]).toBe('disabled,must-change');
    expect(JSON.parse(ok(run(['users', 'enable', 'bob', '--json'])))).toMatchObject({ username: 'bob', disabled: false });
    expect(ok(run(['users', 'enable', 'bob']))).toBe('Enabled user "bob".\n');
    expect(ok(run(['users', 'remove', 'bob']))).toBe('Removed user "bob" and ended their sessions.\n');
    expect(JSON.parse(ok(run(['users', 'remove', 'alice', '--json'])))).toEqual({ username: 'alice', removed: true });
    expect(ok(run(['users', 'list']))).toBe('No users.\n');
    expect(ok(run(['users', 'list', '--json']))).toBe('[]\n');

    expect(failure(run(['users', 'show', 'bob']), 1)).toBe('No user is named "bob".');
    for (const verb of ['disable', 'enable', 'remove']) expect(failure(run(['users', verb, 'bob']), 1)).toBe('No user is named "bob".');
    ok(run(['users', 'add', 'carol', '--password-stdin'], PASSWORD));
    expect(failure(run(['users', 'add', 'CAROL', '--password-stdin'], PASSWORD), 1)).toBe('A user named "CAROL" already exists.');
    expect(failure(run(['users', 'add', 'dave', '--password-stdin'], 'dave\n'), 1)).toBe(
      'The password was refused: Use at least 15 characters (this has 4). Do not use your username in your password. This password is on a list of commonly used passwords.',
    );
    expect(failure(run(['users', 'add', ' padded', '--password-stdin'], PASSWORD), 1)).toMatch(/^A username must be 1 to 64 characters/);

    // The password never shows, nor its hash.
    expect(outputs.join('')).not.toContain(PASSWORD);
    expect(outputs.join('')).not.toContain('$argon2id$');
    // About twenty CLI processes one after another.
  }, 120_000);

  it('resets and changes passwords; the library signs in with the new one at once', async () => {
    const db = dbPath();
    ok(gatehouse(['users', 'add', 'carol', '--password-stdin', '--db', db], { input: PASSWORD }));
    ok(gatehouse(['clients', 'add', 'desktop', '--db', db]));
    await withLibrary(db, async (engine) => {
      const reset = gatehouse(['users', 'reset-password', 'carol', '--must-change', '--password-stdin', '--db', db], { input: `${NEW_PASSWORD}\r\n` });
      expect(ok(reset)).toBe('Reset the password of "carol" and ended their sessions (the password must be changed at the next sign-in).\n');
      expect((await oauthFailure(signIn(engine, 'carol', NEW_PASSWORD))).code).toBe('password_change_required');

      // passwd: current and new password, one a line (CRLF tolerated); it clears the must-change flag.
      const changed = gatehouse(['passwd', 'carol', '--db', db], { input: `${NEW_PASSWORD}\r\n${NEWER_PASSWORD}\r\n` });
      expect(ok(changed)).toBe('Changed the password of "carol" and ended their sessions.\n');
      await expect(signIn(engine, 'carol', NEWER_PASSWORD)).resolves.toMatchObject({ token_type: 'Bearer' });
      expect((await oauthFailure(signIn(engine, 'carol', NEW_PASSWORD))).code).toBe('invalid_grant');

      const wrong = gatehouse(['passwd', 'carol', '--db', db], { input: `${NEW_PASSWORD}\n${PASSWORD}\n` });
      expect(failure(wrong, 1)).toBe('The username or password is incorrect.');
      const weak = gatehouse(['passwd', 'carol', '--db', db, '--json'], { input: `${NEWER_PASSWORD}\ncarol\n` });
      expect(failure(weak, 1)).toBe(
        'The new password was refused: Use at least 15 characters (this has 5). Do not use your username in your password. This password is on a list of commonly used passwords.',
      );
      for (const input of [NEWER_PASSWORD, `${NEWER_PASSWORD}\n`, `${NEWER_PASSWORD}\n${PASSWORD}\nthird`, `\n${PASSWORD}`, `${NEWER_PASSWORD}\n\n`]) {
        const usage = gatehouse(['passwd', 'carol', '--db', db], { input });
        expect(failure(usage, 2), JSON.stringify(input)).toBe(
          'gatehouse passwd reads two lines on standard input: the current password, then the new one.',
        );
      }
      const json = JSON.parse(ok(gatehouse(['passwd', 'carol', '--json', '--db', db], { input: `${NEWER_PASSWORD}\n${PASSWORD}` }))) as UserInfo;
      expect(json).toMatchObject({ username: 'carol', mustChangePassword: false });
      await expect(signIn(engine, 'carol', PASSWORD)).resolves.toMatchObject({ token_type: 'Bearer' });

      const resetJson = gatehouse(['users', 'reset-password', 'carol', '--password-stdin', '--json', '--db', db], { input: NEW_PASSWORD });
      expect(JSON.parse(ok(resetJson))).toMatchObject({ username: 'carol', mustChangePassword: false });
      expect(failure(gatehouse(['users', 'reset-password', 'carol', '--password-stdin', '--db', db], { input: 'carol' }), 1)).toMatch(
        /^The password was refused: Use at least 15 characters/,
      );
      expect(failure(gatehouse(['users', 'reset-password', 'nobody', '--password-stdin', '--db', db], { input: NEW_PASSWORD }), 1)).toBe(
        'No user is named "nobody".',
      );
      expect(failure(gatehouse(['passwd', 'nobody', '--db', db], { input: `${PASSWORD}\n${NEW_PASSWORD}` }), 1)).toBe(
        'The username or password is incorrect.',
      );
    });
  });

  it("takes effect at once in an engine already open on the same file (disable, enable, add)", async () => {
    const db = dbPath();
    ok(gatehouse(['users', 'add', 'dave', '--scope', 'records:read', '--password-stdin', '--db', db], { input: PASSWORD }));
    ok(gatehouse(['clients', 'add', 'desktop', '--scope', 'records:read', '--db', db]));
    await withLibrary(db, async (engine) => {
      const session = await signIn(engine, 'dave', PASSWORD);
      ok(gatehouse(['users', 'disable', 'dave', '--db', db]));
      expect((await oauthFailure(signIn(engine, 'dave', PASSWORD))).code).toBe('invalid_grant');
      const refresh = engine.token({ grant_type: 'refresh_token', client_id: 'desktop', refresh_token: session.refresh_token! });
      expect((await oauthFailure(refresh)).code).toBe('invalid_grant');
      await expectRevoked(engine, session.access_token);

      ok(gatehouse(['users', 'enable', 'dave', '--db', db]));
      await expect(signIn(engine, 'dave', PASSWORD)).resolves.toMatchObject({ scope: 'records:read' });
      ok(gatehouse(['users', 'add', 'erin', '--scope', 'records:read', '--password-stdin', '--db', db], { input: PASSWORD }));
      await expect(signIn(engine, 'erin', PASSWORD)).resolves.toMatchObject({ scope: 'records:read' });
    });
  });
});

describe('gatehouse exit codes and the database it works on', () => {
  it('answers usage errors with exit 2 and one line, before touching the database', () => {
    const db = dbPath();
    const cases: Array<[string[], string | RegExp]> = [
      [[], 'No command given; see gatehouse --help.'],
      [['users'], 'Unknown command "users"; see gatehouse --help.'],
      [['users', 'frobnicate'], 'Unknown command "users frobnicate"; see gatehouse --help.'],
      [['users', 'list', '--nope'], /^Unknown option '--nope'/],
      [['users', 'show'], 'gatehouse users show needs NAME.'],
      [['users', 'show', 'a', 'b'], 'Unexpected argument: b'],
      [['sessions', 'list', 'a', 'b'], 'Unexpected argument: b'],
      [['keys', 'list', 'extra'], 'Unexpected argument: extra'],
      [['sessions', 'revoke'], 'gatehouse sessions revoke needs ID.'],
      [['passwd'], 'gatehouse passwd needs NAME.'],
      [['users', 'list', '--scope', 'a'], '"gatehouse users list" has no option --scope.'],
      [['users', 'disable', 'a', '--must-change'], '"gatehouse users disable" has no option --must-change.'],
      [['clients', 'add', 'c', '--password-stdin'], '"gatehouse clients add" has no option --password-stdin.'],
      [['users', 'add', 'x'], 'gatehouse users add reads the password from standard input: give --password-stdin.'],
      [['users', 'reset-password', 'x'], 'gatehouse users reset-password reads the password from standard input: give --password-stdin.'],
      // Secrets have no way in through argv.
      [['users', 'add', 'x', '--password', PASSWORD], /^Unknown option '--password'/],
      [['users', 'add', 'x', `--password-stdin=${PASSWORD}`], /^Option '--password-stdin' does not take an argument/],
      [['clients', 'add', 'c', '--secret', PASSWORD], /^Unknown option '--secret'/],
      [['users', 'add', 'x', '--password-stdin', '--scope', 'a"b'], '--scope: "a"b" is not a valid scope name (RFC 6749 §3.3).'],
      [['users', 'add', 'x', '--password-stdin', '--scope', 'a', '--scope', 'b'], '--scope is given more than once.'],
      [['clients', 'add', 'c', '--secret-stdin', '--generate-secret'], 'Give --secret-stdin or --generate-secret, not both.'],
      [['clients', 'add', 'c', '--grants', 'password,implicit'], '--grants takes a comma-separated list of password, refresh_token ("implicit" is not one).'],
      [['clients', 'add', 'c', '--grants', 'password,,refresh_token'], '--grants takes a comma-separated list of password, refresh_token ("" is not one).'],
      [['users', 'list', '--db', ''], '--db needs a file path.'],
    ];
    for (const [args, message] of cases) {
      const run = gatehouse([...args, ...(args.includes('--db') ? [] : ['--db', db])], { input: `${PASSWORD}\n` });
      const line = failure(run, 2);
      if (typeof message === 'string') expect(line, args.join(' ')).toBe(message);
      else expect(line, args.join(' ')).toMatch(message);
      expect(run.stderr).not.toContain(PASSWORD);
    }
    expect(existsSync(db)).toBe(false);
  });

  it('refuses with exit 1 to work on a database that does not exist, except to add a user or client', () => {
    const db = dbPath();
    const commands: Array<[string[], string?]> = [
      [['users', 'list']],
      [['users', 'show', 'a']],
      [['users', 'disable', 'a']],
      [['users', 'enable', 'a']],
      [['users', 'remove', 'a']],
      [['users', 'reset-password', 'a', '--password-stdin'], PASSWORD],
      [['passwd', 'a'], `${PASSWORD}\n${NEW_PASSWORD}\n`],
      [['clients', 'list']],
      [['clients', 'remove', 'c']],
      [['keys', 'list']],
      [['sessions', 'list']],
      [['sessions', 'revoke', 'x']],
    ];
    for (const [args, input] of commands) {
      const line = failure(gatehouse([...args, '--db', db], input === undefined ? {} : { input }), 1);
      expect(line, args.join(' ')).toBe(`No database at ${db} (create it with "gatehouse users add" or "gatehouse serve").`);
    }
    expect(existsSync(db)).toBe(false);
    expect(ok(gatehouse(['clients', 'add', 'desktop', '--db', db]))).toBe('Added public client "desktop" (grants: password, refresh_token; scope: -).\n');
    expect(ok(gatehouse(['users', 'list', '--db', db]))).toBe('No users.\n');
  });

  it('refuses a file that is not a Gatehouse database and leaves it as it was', () => {
    const path = join(tempDir(), 'notes.txt');
    writeFileSync(path, 'not a database at all\n');
    for (const args of [['users', 'list'], ['clients', 'add', 'desktop']]) {
      expect(failure(gatehouse([...args, '--db', path]), 1)).toBe(`The file at ${path} is not a SQLite database; it was left untouched.`);
    }
    expect(readFileSync(path, 'utf8')).toBe('not a database at all\n');
  });

  it('uses GATEHOUSE_DB when --db is not given, --db over it, and ./gatehouse.db without either', () => {
    const dir = tempDir();
    const env = { GATEHOUSE_DB: join(dir, 'from-env.db') };
    ok(gatehouse(['clients', 'add', 'desktop'], { env }));
    expect(existsSync(env.GATEHOUSE_DB)).toBe(true);
    expect(JSON.parse(ok(gatehouse(['clients', 'list', '--json'], { env }))).map((c: { id: string }) => c.id)).toEqual(['desktop']);
    const other = join(dir, 'other.db');
    expect(failure(gatehouse(['clients', 'list', '--db', other], { env }), 1)).toContain(`No database at ${other} `);

    expect(failure(gatehouse(['clients', 'list'], { cwd: dir }), 1)).toContain('No database at ./gatehouse.db ');
    ok(gatehouse(['clients', 'add', 'tool'], { cwd: dir }));
    expect(existsSync(join(dir, 'gatehouse.db'))).toBe(true);
    expect(ok(gatehouse(['clients', 'list', '--json'], { cwd: dir }))).toContain('"id":"tool"');
  });
});
