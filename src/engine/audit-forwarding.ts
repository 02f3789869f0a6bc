import type { AuditCheckpoint } from '../contracts.js';
import type { AuditRow } from '../store/audit.js';
import type { Engine } from './engine.js';

/** Where forwarded lines go (an OsLogForwarder); it must never throw or wait. */
export interface LineSink {
  write(line: string): void;
}

/** One forwarded audit event: the row exactly as `gatehouse audit --json` exports it, chain hash included. */
export type AuditLine = { gatehouse: 'audit'; installation: string } & AuditRow;
/** One forwarded checkpoint: `gatehouse audit verify --checkpoint FILE` accepts it as it is. */
export type CheckpointLine = { gatehouse: 'checkpoint'; installation: string } & AuditCheckpoint;

/**
 * Copies every audit event and checkpoint committed to the database from now on — by this engine
 * or any other process, such as the CLI (see the engine's `audit` event) — to `sink` as one JSON
 * object per line, in order, so a copy exists outside the database that can be checked against its
 * chain. Audit rows hold no secrets (see AuditEvent). Returns the function that stops forwarding.
 */
export function forwardAudit(engine: Engine, sink: LineSink): () => void {
  const installation = engine.installationId;
  const offAudit = engine.on('audit', (rows) => {
    for (const row of rows) sink.write(JSON.stringify({ gatehouse: 'audit', installation, ...row } satisfies AuditLine));
  });
  const offCheckpoint = engine.on('checkpoint', (checkpoint) => {
    sink.write(JSON.stringify({ gatehouse: 'checkpoint', installation, ...checkpoint } satisfies CheckpointLine));
  });
  return () => {
    offAudit();
    offCheckpoint();
  };
}
