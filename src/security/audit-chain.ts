import { createHash } from 'node:crypto';

/** The fields of an audit event that its chain hash covers, as stored. */
export interface ChainedEvent {
  id: number;
  at: number;
  type: string;
  outcome: string;
  username: string | null;
  user_id: string | null;
  client_id: string | null;
  session_id: string | null;
  detail: string | null;
}

/**
 * The hash the first event of a database chains from: bound to the installation, so events cannot
 * be moved from one database's log into another's.
 */
export function genesisHash(installationId: string): Buffer {
  return createHash('sha256').update(`gatehouse audit chain v1\0${installationId}`).digest();
}

/**
 * SHA-256 over the previous event's hash and this event's fields (its id included), so editing,
 * reordering or deleting any event changes every hash after it.
 */
export function eventHash(previous: Uint8Array, event: ChainedEvent): Buffer {
  const fields = [
    event.id,
    event.at,
    event.type,
    event.outcome,
    event.username,
    event.user_id,
    event.client_id,
    event.session_id,
    event.detail,
  ];
  return createHash('sha256').update(previous).update(JSON.stringify(fields)).digest();
}
