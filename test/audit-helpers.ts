import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import Database from 'better-sqlite3';
import type { ChainedEvent } from '../dist/security/audit-chain.js';
import { k4PublicKeyId, openEngine, type AuditCheckpoint, type AuditVerification, type Engine } from '../dist/index.js';

/*
 * What an attacker with write access to the database file can do with nothing but SQL, node:crypto
 * and the published description of the chain. Nothing here calls into Gatehouse's own chain code:
 * the hash and the PASETO signature are written out again from their descriptions.
 */

/** One stored audit event, as the attacker reads it with SQL (the columns are public knowledge). */
export type RawEvent = ChainedEvent & { hash: Buffer | null };

/** The genesis hash: SHA-256 of "gatehouse audit chain v1\0" and the installation id. */
export function genesisOf(installationId: string): Buffer {
  return createHash('sha256').update(`gatehouse audit chain v1\0${installationId}`).digest();
}

/** SHA-256(previous hash ‖ JSON of [id, at, type, outcome, username, user_id, client_id, session_id, detail]). */
export function chainHash(previous: Buffer, e: Omit<RawEvent, 'hash'>): Buffer {
  const fields = [e.id, e.at, e.type, e.outcome, e.username, e.user_id, e.client_id, e.session_id, e.detail];
  return createHash('sha256').update(previous).update(JSON.stringify(fields)).digest();
}

/**
 * Opens the database file directly (no engine may hold it), runs `work` in one transaction and
 * closes it, as a process with write access to the file would.
 */
export function tamper<T>(path: string, work: (db: Database.Database) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return db.transaction(() => work(db))();
  } finally {
    db.close();
  }
}

/** Reads the file without changing it. */
export { inspect } from './helpers.js';

export function installationOf(db: Database.Database): string {
  return db.prepare("SELECT value FROM meta WHERE key = 'installation_id'").pluck().get() as string;
}

export function rawEvents(db: Database.Database): RawEvent[] {
  return db.prepare('SELECT * FROM audit_events ORDER BY id').all() as RawEvent[];
}

export function rawEvent(db: Database.Database, id: number): RawEvent {
  const row = db.prepare('SELECT * FROM audit_events WHERE id = ?').get(id) as RawEvent | undefined;
  if (!row) throw new Error(`no event ${id}`);
  return row;
}

/**
 * Recomputes every hash from the retention anchor (or genesis), so the chain is consistent again
 * after an edit: what an attacker who knows the algorithm does.
 */
export function rechain(db: Database.Database): Buffer {
  const anchor = db.prepare("SELECT value FROM meta WHERE key = 'audit_anchor'").pluck().get() as string | undefined;
  let previous = anchor === undefined ? genesisOf(installationOf(db)) : Buffer.from((JSON.parse(anchor) as { hash: string }).hash, 'hex');
  const update = db.prepare('UPDATE audit_events SET hash = ? WHERE id = ?');
  for (const event of rawEvents(db)) {
    previous = chainHash(previous, event);
    update.run(previous, event.id);
  }
  return previous;
}

/** The claims of a checkpoint token (v4.public: base64url of message ‖ 64-byte signature). */
export function claimsOf(token: string): Record<string, unknown> {
  const body = Buffer.from(token.split('.')[2]!, 'base64url');
  return JSON.parse(body.subarray(0, body.length - 64).toString('utf8')) as Record<string, unknown>;
}

function pae(pieces: readonly Buffer[]): Buffer {
  const le64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  return Buffer.concat([le64(pieces.length), ...pieces.flatMap((piece) => [le64(piece.length), piece])]);
}

/**
 * A v4.public PASETO signed with a fresh Ed25519 key of the attacker's own, its footer naming that
 * key as the engine's checkpoints do ({kid, paserk}). Returns the token and the attacker's key.
 */
export async function attackerToken(claims: Record<string, unknown>): Promise<{ token: string; paserk: `k4.public.${string}`; pid: string }> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const paserk = `k4.public.${publicKey.export({ format: 'jwk' }).x!}` as const;
  const pid = await k4PublicKeyId(paserk);
  const footer = Buffer.from(JSON.stringify({ kid: pid, paserk }));
  const header = Buffer.from('v4.public.');
  const message = Buffer.from(JSON.stringify(claims));
  const signature = sign(null, pae([header, message, footer, Buffer.alloc(0)]), privateKey);
  const token = `v4.public.${Buffer.concat([message, signature]).toString('base64url')}.${footer.toString('base64url')}`;
  return { token, paserk, pid };
}

/**
 * Verifies the file's audit log through the library, on an engine that writes nothing to the log
 * (no signing key, so no key event and no routine checkpoint at close).
 */
export async function verifyFile(path: string, exported: readonly AuditCheckpoint[] = []): Promise<AuditVerification> {
  const engine = await openEngine({ path, signingKeyAtOpen: false, hashWorkers: 1 });
  try {
    return await engine.verifyAuditLog(exported);
  } finally {
    await engine.close();
  }
}

/**
 * Waits (yielding to the event loop, never on a timer) until the engine has signed the routine
 * checkpoint that falls due every `every` events, and the retention that follows it has run: the
 * newest checkpoint then vouches for an event fewer than `every` events behind the head.
 */
export async function checkpointsCaughtUp(engine: Engine, every: number): Promise<void> {
  for (let turn = 0; turn < 100_000; turn++) {
    const vouched = engine.auditCheckpoints().at(-1)?.lastId ?? 0;
    // Due when the head is `every` or more events past the newest checkpoint.
    if (engine.auditLog({ afterId: vouched + every - 1, limit: 1 }).length === 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the routine checkpoint never came');
}
