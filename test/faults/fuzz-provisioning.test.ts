import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { provision, ProvisioningError, readProvisioningFile, type Engine } from '../../dist/index.js';
import { usernameKey } from '../../dist/store/username-key.js';
import { gatehouse } from '../cli-helpers.js';
import { newEngine, tempDir } from '../helpers.js';
import { report, scaled, SEED } from './fault-kit.js';

// Property-based fuzzing of the provisioning parser: provision(engine, file) with arbitrary JSON values
// and mutations of a valid file, and readProvisioningFile with raw bytes, on a real engine over a temp
// SQLite file. Never a crash or an error other than ProvisioningError (with problems that each name a
// JSON path or the file); a valid file applies; a refused one changes nothing. Passwords are `{hash}`
// PHC strings but for a rare one-time password, so few inputs reach argon2id (engine.hashEvaluations).

const MUTATED_INPUTS = scaled(2000);
const JSON_INPUTS = scaled(1000);
const BYTE_INPUTS = scaled(500);
const HASHED = 'a passphrase IT hashed beforehand';
const USERNAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const CLIENT_IDS = ['desktop', 'tool', 'sync'];
const SCOPES = ['admin', 'records:read', 'records:write'];
/** Where every problem must start: `(file)` or a JSON path such as `users[3].password.hash`. */
const PROBLEM = /^(\(file\)|[A-Za-z$_][\w$]*(\[\d+\]|\.[\w$]+)*): \S/s;
let phc: string;

beforeAll(() => {
  const run = gatehouse(['hash-password'], { input: HASHED });
  expect(run.status).toBe(0);
  phc = run.stdout.trim();
});

type Json = unknown;
type Path = Array<string | number>;

/** A valid file of `version` for the chosen users and clients. */
function validFile(version: number, users: readonly string[], clients: readonly string[]): Record<string, Json> {
  return {
    $schema: './provisioning.schema.json',
    version,
    scopes: [...SCOPES],
    users: users.map((username, i) => ({
      username,
      ...(i % 2 === 0 ? { displayName: `${username} A` } : {}),
      scope: i % 3 === 0 ? ['records:read', 'records:write'] : ['records:read'],
      ...(i === 4 ? { disabled: true } : {}),
      password: { hash: phc },
    })),
    clients: clients.map((id, i) => ({ id, scope: [...SCOPES], ...(i === 1 ? { secretSha256: 'ab'.repeat(32) } : {}) })),
    policy: { lockout: { freeFailures: 3 }, accessTokenTtlSeconds: 600 },
    app: { helpdeskText: 'Call extension 4357.' },
  };
}

/** Every path in the tree (objects' keys and arrays' indexes), the root included. */
function paths(value: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (typeof value === 'object' && value !== null) for (const key of Object.keys(value)) paths((value as Record<string, Json>)[key], [...at, key], out);
  return out;
}

function get(root: Json, path: Path): Json {
  return path.reduce<Json>((v, key) => (v as Record<string | number, Json>)[key], root);
}

/** Sets the value at `path` as an own property (a `__proto__` key too, as JSON.parse makes it). */
function set(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, Json>;
  Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

/**
 * A fresh copy of a generated value before it goes into a file that the next changes mutate in place:
 * fast-check hands the same instances again (constants, shrinking). Arrays and plain or null-prototype
 * objects are copied (their prototype kept); anything else (Map, Date, …) is taken as is.
 */
function fresh(value: Json): Json {
  if (Array.isArray(value)) return value.map(fresh);
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && proto !== Object.prototype) return value;
  const copy = Object.create(proto) as Record<string, Json>;
  for (const key of Object.keys(value)) set(copy, [key], fresh((value as Record<string, Json>)[key]));
  return copy;
}

function remove(root: Json, path: Path): Json {
  if (path.length === 0) return undefined;
  const parent = get(root, path.slice(0, -1));
  if (Array.isArray(parent)) parent.splice(path.at(-1) as number, 1);
  else delete (parent as Record<string, Json>)[path.at(-1) as string];
  return root;
}

/** `depth` nested arrays or objects around `inner`. */
function nested(depth: number, objects: boolean, inner: Json = 1): Json {
  let value = inner;
  for (let i = 0; i < depth; i++) value = objects ? { a: value } : [value];
  return value;
}

/** PHC strings that are not acceptable ones: weaker parameters, another algorithm, damaged. Made from the real one. */
function wrongPhc(real: string, kind: number, at: number, text: string): string {
  switch (kind % 9) {
    case 0: return real.replace('argon2id', 'argon2i');
    case 1: return real.replace(/m=\d+/, 'm=1024');
    case 2: return real.replace(/t=\d+/, 't=1');
    case 3: return real.slice(0, at % real.length);
    case 4: return real.slice(0, at % real.length) + text + real.slice((at % real.length) + 1);
    case 5: return real.replace(/\$[^$]*$/, '$');
    case 6: return real.replace('$v=19', '$v=16');
    case 7: return `${real}$extra`;
    default: return text;
  }
}

type Op =
  | { kind: 'drop' | 'duplicate'; pick: number }
  | { kind: 'retype' | 'unknownKey' | 'protoKey'; pick: number; value: Json; key: string }
  | { kind: 'hugeString'; pick: number; length: number }
  | { kind: 'deep'; pick: number; depth: number; objects: boolean }
  | { kind: 'number'; pick: number; value: number }
  | { kind: 'phc'; pick: number; phcKind: number; at: number; text: string }
  | { kind: 'sameAccount'; pick: number; variant: number }
  | { kind: 'oneTime'; pick: number; password: string }
  | { kind: 'unknownScope'; pick: number; scope: string };

function ops(): fc.Arbitrary<Op[]> {
  const pick = fc.nat();
  const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('retype' as const), pick, value: jsonish, key: fc.string() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('unknownKey' as const), pick, value: fc.jsonValue({ maxDepth: 2 }), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('constructor', 'prototype', 'toString', 'hasOwnProperty', 'hash', 'oneTime', 'version')) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('protoKey' as const), pick, value: fc.oneof(fc.constant({ polluted: true }), fc.constant({ version: 999, users: [] }), fc.jsonValue({ maxDepth: 2 })), key: fc.constant('__proto__') }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('hugeString' as const), pick, length: fc.integer({ min: 1000, max: 2_000_000 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), pick, depth: fc.integer({ min: 100, max: 5000 }), objects: fc.boolean() }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('number' as const),
        pick,
        value: fc.oneof(
          fc.constantFrom(-1, 0, -0, 0.5, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 31, 2 ** 63, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity),
          fc.double(),
          fc.integer(),
        ),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('phc' as const), pick, phcKind: fc.nat(), at: fc.nat(), text: fc.string({ maxLength: 8 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('sameAccount' as const), pick, variant: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('oneTime' as const), pick, password: fc.oneof(fc.constant('a one-time password for first sign-in'), fc.string({ maxLength: 30 })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('unknownScope' as const), pick, scope: fc.oneof(fc.constantFrom('records:delete', 'a b', ''), fc.string({ maxLength: 10 })) }) },
  );
  // Now and then no mutation at all: the valid file as is (it must apply).
  return fc.oneof({ weight: 1, arbitrary: fc.constant<Op[]>([]) }, { weight: 6, arbitrary: fc.array(op, { minLength: 1, maxLength: 3 }) });
}

/** The case and width variants of a username that are the same account. */
function sameAccount(name: string, variant: number): string {
  const full = [...name].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
  return [name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1), full, name][variant % 4]!;
}

function mutate(file: Record<string, Json>, list: readonly Op[]): Json {
  let root: Json = file;
  // Deep nesting last, and once: the other changes walk and copy the tree (recursively).
  const deep = list.find((op) => op.kind === 'deep');
  for (const op of [...list.filter((op) => op.kind !== 'deep'), ...(deep ? [deep] : [])]) {
    const all = paths(root);
    const path = all[op.pick % all.length]!;
    const users = (typeof root === 'object' && root !== null && Array.isArray((root as Record<string, Json>).users) ? (root as Record<string, Json[]>).users : []) as Array<Record<string, Json>>;
    const user = users.length > 0 && typeof users[op.pick % users.length] === 'object' && users[op.pick % users.length] !== null ? users[op.pick % users.length] : undefined;
    switch (op.kind) {
      case 'drop':
        root = remove(root, path);
        break;
      case 'duplicate': {
        const parent = get(root, path.slice(0, -1));
        if (Array.isArray(parent)) parent.push(structuredClone(get(root, path)));
        else if (path.length > 0) set(root, [...path.slice(0, -1), `${String(path.at(-1))}`], structuredClone(get(root, path)));
        break;
      }
      case 'retype':
        root = set(root, path, fresh(op.value));
        break;
      case 'unknownKey':
      case 'protoKey': {
        const target = get(root, path);
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) set(root, [...path, op.key], fresh(op.value));
        else root = set(root, path, Object.defineProperty({}, op.key, { value: fresh(op.value), enumerable: true, writable: true, configurable: true }));
        break;
      }
      case 'hugeString':
        root = set(root, path, 'x'.repeat(op.length));
        break;
      case 'deep':
        root = set(root, path, nested(op.depth, op.objects));
        break;
      case 'number':
        root = set(root, path, op.value);
        break;
      case 'phc':
        if (user && typeof user.password === 'object' && user.password !== null) user.password = { hash: wrongPhc(phc, op.phcKind, op.at, op.text) };
        break;
      case 'sameAccount':
        if (user && typeof user.username === 'string' && user.username !== '') users.push({ ...structuredClone(user), username: sameAccount(user.username, op.variant) });
        break;
      case 'oneTime':
        if (user) user.password = { oneTime: op.password };
        break;
      case 'unknownScope':
        if (user && Array.isArray(user.scope)) user.scope.push(op.scope);
        break;
    }
  }
  return root;
}

/** What a refused file must leave as it was. */
function snapshot(engine: Engine): string {
  return JSON.stringify({
    users: engine.users.list(),
    clients: engine.clients.list(),
    version: engine.provisionedVersion() ?? null,
    app: engine.provisionedAppSettings(),
  });
}

interface Tally {
  inputs: number;
  applied: number;
  unchanged: number;
  refused: number;
  problems: number;
}

/** The input, shortened, for a failure message (only computed on a failure: some inputs are huge or deep). */
function describeInput(input: unknown): string {
  try {
    return fc.stringify(input).slice(0, 600);
  } catch {
    return `(a ${typeof input} too deep to print)`;
  }
}

function check(ok: boolean, what: string, context: () => string): void {
  if (!ok) throw new Error(`${what}: ${context()}`);
}

/** Applies one input and checks the properties; throws on a violation. */
async function applyOne(engine: Engine, input: unknown, tally: Tally): Promise<void> {
  tally.inputs++;
  const context = () => describeInput(input);
  const before = snapshot(engine);
  let result;
  try {
    result = await provision(engine, input);
  } catch (error) {
    expectRefusal(error, context, tally);
    check(snapshot(engine) === before, 'a refused file changed the database', context);
    return;
  }
  checkApplied(engine, input, result, before, tally, context);
}

function expectRefusal(error: unknown, context: () => string, tally: Tally): void {
  if (!(error instanceof ProvisioningError)) throw new Error(`not a ProvisioningError (${String(error)}) for ${context()}`, { cause: error });
  tally.refused++;
  check(Array.isArray(error.problems) && error.problems.length > 0, 'no problems listed', context);
  for (const problem of error.problems) {
    check(typeof problem === 'string' && PROBLEM.test(problem), `a problem naming no JSON path (${JSON.stringify(problem)})`, context);
  }
  tally.problems += error.problems.length;
}

function checkApplied(
  engine: Engine,
  input: unknown,
  result: Awaited<ReturnType<typeof provision>>,
  before: string,
  tally: Tally,
  context: () => string,
): void {
  const file = input as { version: number; users?: Array<{ username: string; disabled?: boolean }> };
  check(result.version === file.version && engine.provisionedVersion()?.version === file.version, `applied as version ${result.version}`, context);
  if (result.status === 'unchanged') {
    tally.unchanged++;
    check(snapshot(engine) === before, 'an unchanged file changed the database', context);
    return;
  }
  tally.applied++;
  check(result.status === 'applied', `status ${result.status}`, context);
  // Every listed user is there, enabled or not as the file says; every other one is disabled.
  const listed = new Map((file.users ?? []).map((u) => [usernameKey(u.username), u.disabled ?? false]));
  const rows = engine.users.list();
  for (const [key, disabled] of listed) {
    const row = rows.find((u) => usernameKey(u.username) === key);
    check(row !== undefined && row.disabled === disabled, `${key} missing or wrongly enabled`, context);
  }
  for (const row of rows) if (!listed.has(usernameKey(row.username))) check(row.disabled, `${row.username} left enabled`, context);
}

describe('fuzzing the provisioning parser', () => {
  it(`applies the valid ones of ${MUTATED_INPUTS} mutated files, ${JSON_INPUTS} arbitrary values and ${BYTE_INPUTS} raw files; refuses the rest with ProvisioningError only, changing nothing (seed ${SEED})`, async () => {
    const { engine } = await newEngine();
    const dir = tempDir();
    const hashesBefore = engine.hashEvaluations;
    const mutated: Tally = { inputs: 0, applied: 0, unchanged: 0, refused: 0, problems: 0 };
    const values: Tally = { ...mutated };
    const bytes: Tally = { ...mutated };
    const current = () => engine.provisionedVersion()?.version ?? 0;

    // Mutations of a valid file: the next version, some of the users and clients, then 0 to 3 changes.
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(USERNAMES, { minLength: 1 }),
        fc.subarray(CLIENT_IDS),
        fc.constantFrom(1, 1, 1, 0, -1),
        ops(),
        async (users, clients, step, list) => {
          const input = mutate(validFile(current() + step, users, clients), list);
          const wasValid = list.length === 0 && step === 1;
          const applied = mutated.applied;
          await applyOne(engine, input, mutated);
          if (wasValid) expect(mutated.applied, 'an unmutated next version applies').toBe(applied + 1);
          // A file that applied, given again: `unchanged`, nothing written (idempotence).
          if (mutated.applied > applied && mutated.applied % 4 === 0) await applyOne(engine, input, mutated);
        },
      ),
      { numRuns: MUTATED_INPUTS, seed: SEED },
    );

    // Arbitrary values: JSON of any shape, objects with the file's own keys, and non-JSON values.
    const topKeys = fc.constantFrom('$schema', 'version', 'scopes', 'users', 'clients', 'policy', 'app', '__proto__');
    const value = fc.oneof(
      { weight: 3, arbitrary: fc.jsonValue() },
      fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
      { weight: 3, arbitrary: fc.dictionary(topKeys, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 7 }).map((o) => JSON.parse(JSON.stringify(o)) as unknown) },
    );
    await fc.assert(
      fc.asyncProperty(value, async (input) => applyOne(engine, input, values)),
      { numRuns: JSON_INPUTS, seed: SEED },
    );

    // Raw bytes in a file for readProvisioningFile: random bytes, the valid file with a BOM, truncated,
    // in UTF-16, with bytes that are not UTF-8, deeply nested; whatever reads is then provisioned.
    const fileText = (version: number) => JSON.stringify(validFile(version, USERNAMES.slice(0, 3), CLIENT_IDS.slice(0, 1)), null, 2);
    const raw = fc.oneof(
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => () => Buffer.from(b)) },
      fc.constant(() => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(fileText(current() + 1))])),
      fc.constant(() => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(fileText(current() + 1))])),
      fc.constant(() => Buffer.from(fileText(current() + 1))),
      fc.constant(() => Buffer.from(`\ufeff${fileText(current() + 1)}`, 'utf16le')),
      fc.constant(() => Buffer.from([])),
      fc.constant(() => Buffer.from(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)),
      fc.constant(() => Buffer.from(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`)),
      { weight: 3, arbitrary: fc.nat().map((n) => () => { const text = Buffer.from(fileText(current() + 1)); return text.subarray(0, n % text.length); }) },
      { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82])).map(([n, bad]) => () => {
        const text = Buffer.from(fileText(current() + 1));
        const at = n % text.length;
        return Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at)]);
      }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => () => Buffer.from(s)) },
    );
    let read = 0;
    await fc.assert(
      fc.asyncProperty(raw, async (make) => {
        const path = join(dir, 'provisioning.json');
        const content = make();
        writeFileSync(path, content);
        let parsed: unknown;
        try {
          parsed = await readProvisioningFile(path);
        } catch (error) {
          bytes.inputs++;
          expectRefusal(error, () => `bytes ${content.subarray(0, 80).toString('hex')} (${content.length} bytes)`, bytes);
          return;
        }
        read++;
        await applyOne(engine, parsed, bytes);
      }),
      { numRuns: BYTE_INPUTS, seed: SEED },
    );
    // Over the size limit (64 MiB), once: refused before parsing. And a path that is a directory or missing.
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(64 * 1024 * 1024 + 1, 0x20));
    for (const path of [big, dir, join(dir, 'missing.json')]) {
      bytes.inputs++;
      await readProvisioningFile(path).then(
        (value) => { throw new Error(`${path} read as ${describeInput(value)}`); },
        (error: unknown) => expectRefusal(error, () => path, bytes),
      );
    }
    expect(await readProvisioningFile(join(dir, 'missing.json'), { missingOk: true })).toBeUndefined();

    const hashes = engine.hashEvaluations - hashesBefore;
    expect(hashes, 'inputs that reach argon2id stay a few dozen').toBeLessThanOrEqual(Math.max(60, scaled(60)));
    const all = [mutated, values, bytes];
    const sum = (name: keyof Tally) => all.reduce((n, t) => n + t[name], 0);
    report('fuzz.provisioning', {
      inputs: sum('inputs'),
      mutated: `${mutated.inputs}(applied:${mutated.applied},unchanged:${mutated.unchanged},refused:${mutated.refused})`,
      values: `${values.inputs}(applied:${values.applied},unchanged:${values.unchanged},refused:${values.refused})`,
      bytes: `${bytes.inputs}(read:${read},applied:${bytes.applied},unchanged:${bytes.unchanged},refused:${bytes.refused})`,
      valid: sum('applied') + sum('unchanged'),
      refused: sum('refused'),
      problems: sum('problems'),
      reachedHashing: hashes,
      finalVersion: current(),
      other: 0,
      changedByRefused: 0,
    });
  });
});
