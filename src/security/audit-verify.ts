import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AuditCheckpoint, AuditVerification } from '../contracts.js';
import type { AuditRepository, CheckpointRow } from '../store/audit.js';
import { k4PublicKeyId, v4 } from '../tokens/paseto-v4.js';
import { eventHash } from './audit-chain.js';
import type { CheckpointClaims } from './audit-checkpoint.js';

interface Vouched {
  lastId: number;
  lastHash: string;
  source: string;
}

/** Events read per step; the event loop gets a turn between steps. */
const PAGE = 5000;

/**
 * Walks the whole chain and every checkpoint (the stored ones and any exported copies given):
 * an edited, inserted or reordered event breaks its hash; a deleted one leaves a gap; events cut
 * from the end show against AUTOINCREMENT's record of the highest id and against any checkpoint
 * that vouched for them; a forged retention anchor shows against the `audit.pruned` event that must
 * name it. Checkpoints must be signed by a key this database recorded, and agree with their rows.
 */
export async function verifyAuditChain(
  log: AuditRepository,
  installationId: string,
  keyRecorded: (pid: string) => boolean,
  exported: readonly AuditCheckpoint[] = [],
): Promise<AuditVerification> {
  const problems: string[] = [];
  const vouched: Vouched[] = [];
  const anchor = log.anchor();
  const rows = log.checkpoints();
  const candidates = [
    ...rows.map((row) => ({ token: row.token, source: `stored checkpoint ${row.id}`, row })),
    ...exported.map((checkpoint, i) => ({ token: checkpoint.token, source: `exported checkpoint ${i + 1}`, row: undefined })),
  ];
  for (const { token, source, row } of candidates) {
    const result = await readCheckpoint(token, installationId);
    if (typeof result === 'string') problems.push(`The ${source} is not valid: ${result}`);
    // Retention may have let the key of a checkpoint that vouches only for pruned events go.
    else if (!keyRecorded(result.kid) && !(anchor && result.lastId <= anchor.id)) {
      problems.push(`The ${source} is not valid: it was signed by ${result.kid}, a key this database never recorded.`);
    } else if (row && !agrees(row, result)) problems.push(`The ${source} was altered: its row does not match what its key signed.`);
    else vouched.push({ lastId: result.lastId, lastHash: result.lastHash, source });
  }

  // Only the hashes checkpoints refer to are kept while walking, so memory stays flat.
  const wanted = new Set(vouched.map((v) => v.lastId));
  const seen = new Map<number, string>();
  let previous: Buffer = anchor?.hash ?? log.genesisHash;
  let lastId = anchor?.id ?? 0;
  let events = 0;
  let newestPruned: string | null = null;
  for (let afterId = Number.MIN_SAFE_INTEGER; ; ) {
    const page = log.rawPage(afterId, PAGE);
    if (page.length === 0) break;
    for (const event of page) {
      events++;
      if (event.id <= lastId) problems.push(`Event ${event.id} is out of order.`);
      else if (event.id !== lastId + 1) problems.push(missing(lastId + 1, event.id - 1));
      const expected = eventHash(previous, event);
      if (!event.hash || !expected.equals(event.hash)) {
        problems.push(`Event ${event.id} does not match its chain hash: it was edited, inserted or moved.`);
      }
      // Go on from the stored hash, so each tampered event is reported once.
      previous = event.hash ?? expected;
      lastId = Math.max(lastId, event.id);
      if (wanted.has(event.id)) seen.set(event.id, previous.toString('hex'));
      if (event.type === 'audit.pruned') newestPruned = event.detail;
    }
    afterId = page.at(-1)!.id;
    await yieldToLoop();
  }
  const highest = log.highestIdGiven();
  if (highest > lastId) problems.push(`${missing(lastId + 1, highest).slice(0, -1)}: cut from the end of the log.`);
  if (anchor && !namesAnchor(newestPruned, anchor.id, anchor.hash.toString('hex'))) {
    problems.push(`No audit.pruned event vouches for the log starting after event ${anchor.id}: events were deleted from its start.`);
  }

  for (const { lastId: id, lastHash, source } of vouched) {
    if (anchor && id <= anchor.id) {
      // Retention removed what it vouched for; it must agree with the anchor if it names the anchor's event.
      if (id === anchor.id && lastHash !== anchor.hash.toString('hex')) problems.push(`The ${source} does not match the retention anchor.`);
      continue;
    }
    if (id > lastId) {
      problems.push(`The ${source} vouches for events up to ${id}, but the log ends at ${lastId}: events were cut from the end.`);
    } else if (id > 0 && seen.get(id) !== lastHash) {
      problems.push(`The ${source} does not match event ${id}: the log up to it was rewritten.`);
    }
  }
  return {
    ok: problems.length === 0,
    events,
    checkpoints: vouched.length,
    lastId,
    headHash: log.head().hash.toString('hex'),
    prunedThrough: anchor?.id ?? 0,
    problems,
  };
}

function missing(from: number, to: number): string {
  return from === to ? `Event ${from} is missing.` : `Events ${from} to ${to} are missing.`;
}

function agrees(row: CheckpointRow, signed: { lastId: number; lastHash: string }): boolean {
  return row.last_id === signed.lastId && row.last_hash.toString('hex') === signed.lastHash;
}

function namesAnchor(detail: string | null, id: number, hash: string): boolean {
  try {
    const parsed = JSON.parse(detail ?? 'null') as { throughId?: unknown; throughHash?: unknown } | null;
    return parsed?.throughId === id && parsed.throughHash === hash;
  } catch {
    return false;
  }
}

/** Checks a checkpoint's signature with the key it names; returns what it vouches for, or why not. */
async function readCheckpoint(token: string, installationId: string): Promise<(Omit<Vouched, 'source'> & { kid: string }) | string> {
  let footer: { kid?: unknown; paserk?: unknown };
  try {
    footer = JSON.parse(Buffer.from(token.split('.')[3] ?? '', 'base64url').toString('utf8')) as typeof footer;
  } catch {
    return 'its footer is not JSON.';
  }
  if (typeof footer.paserk !== 'string' || typeof footer.kid !== 'string') return 'it names no key.';
  let claims: Partial<CheckpointClaims>;
  try {
    if ((await k4PublicKeyId(footer.paserk as `k4.public.${string}`)) !== footer.kid) return 'its key does not match its key id.';
    const key = await v4.ImportPublicKey(footer.paserk as `k4.public.${string}`);
    ({ claims } = (await v4.Verify(key, token, { allowNonExpiring: true })) as { claims: Partial<CheckpointClaims> });
  } catch (error) {
    return `its signature does not verify (${(error as Error).message}).`;
  }
  if (claims.typ !== 'gatehouse-audit-checkpoint' || typeof claims.last_id !== 'number' || typeof claims.last_hash !== 'string') {
    return 'it is not an audit checkpoint.';
  }
  if (claims.installation !== installationId) return 'it belongs to another database.';
  return { lastId: claims.last_id, lastHash: claims.last_hash, kid: footer.kid };
}
