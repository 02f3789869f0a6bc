import type { AuditCheckpoint, AuditVerification } from '../contracts.js';
import type { AuditRepository } from '../store/audit.js';
import { k4PublicKeyId, v4 } from '../tokens/paseto-v4.js';
import { eventHash } from './audit-chain.js';
import type { CheckpointClaims } from './audit-checkpoint.js';

interface Verified {
  lastId: number;
  lastHash: string;
  source: string;
}

/**
 * Walks the whole chain and every checkpoint (the stored ones and any exported copies given):
 * an edited, inserted or reordered event breaks its hash; a deleted one leaves a gap; events cut
 * from the end show against AUTOINCREMENT's record of the highest id and against any checkpoint
 * that vouched for them.
 */
export async function verifyAuditChain(
  log: AuditRepository,
  installationId: string,
  exported: readonly AuditCheckpoint[] = [],
): Promise<AuditVerification> {
  const problems: string[] = [];
  const anchor = log.anchor();
  let previous: Buffer = anchor?.hash ?? log.genesisHash;
  let lastId = anchor?.id ?? 0;
  let events = 0;
  const hashes = new Map<number, string>();
  for (const event of log.iterate()) {
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
    hashes.set(event.id, previous.toString('hex'));
  }
  const highest = log.highestIdGiven();
  if (highest > lastId) problems.push(`${missing(lastId + 1, highest)} (cut from the end of the log).`.replace('. (', ' ('));

  const checkpoints: Verified[] = [];
  const candidates = [
    ...log.checkpoints().map((row) => ({ token: row.token, source: `stored checkpoint ${row.id}` })),
    ...exported.map((checkpoint, i) => ({ token: checkpoint.token, source: `exported checkpoint ${i + 1}` })),
  ];
  for (const { token, source } of candidates) {
    const result = await readCheckpoint(token, installationId);
    if (typeof result === 'string') {
      problems.push(`The ${source} is not valid: ${result}`);
      continue;
    }
    checkpoints.push({ ...result, source });
    if (anchor && result.lastId <= anchor.id) continue; // vouches only for pruned events
    const found = hashes.get(result.lastId);
    if (result.lastId > lastId) {
      problems.push(`The ${source} vouches for events up to ${result.lastId}, but the log ends at ${lastId}: events were cut from the end.`);
    } else if (result.lastId > 0 && found !== result.lastHash) {
      problems.push(`The ${source} does not match event ${result.lastId}: the log before it was rewritten.`);
    }
  }
  const head = log.head();
  return {
    ok: problems.length === 0,
    events,
    checkpoints: checkpoints.length,
    lastId,
    headHash: head.hash.toString('hex'),
    prunedThrough: anchor?.id ?? 0,
    problems,
  };
}

function missing(from: number, to: number): string {
  return from === to ? `Event ${from} is missing.` : `Events ${from} to ${to} are missing.`;
}

/** Checks a checkpoint's signature with the key it names; returns what it vouches for, or why not. */
async function readCheckpoint(token: string, installationId: string): Promise<Omit<Verified, 'source'> | string> {
  let footer: { kid?: unknown; paserk?: unknown };
  try {
    const raw = token.split('.')[3];
    footer = JSON.parse(Buffer.from(raw ?? '', 'base64url').toString('utf8')) as typeof footer;
  } catch {
    return 'its footer is not JSON.';
  }
  if (typeof footer.paserk !== 'string' || typeof footer.kid !== 'string') return 'it names no key.';
  try {
    if ((await k4PublicKeyId(footer.paserk as `k4.public.${string}`)) !== footer.kid) return 'its key does not match its key id.';
    const key = await v4.ImportPublicKey(footer.paserk as `k4.public.${string}`);
    const { claims } = (await v4.Verify(key, token, { allowNonExpiring: true })) as { claims: Partial<CheckpointClaims> };
    if (claims.typ !== 'gatehouse-audit-checkpoint' || typeof claims.last_id !== 'number' || typeof claims.last_hash !== 'string') {
      return 'it is not an audit checkpoint.';
    }
    if (claims.installation !== installationId) return 'it belongs to another database.';
    return { lastId: claims.last_id, lastHash: claims.last_hash };
  } catch (error) {
    return `its signature does not verify (${(error as Error).message}).`;
  }
}
