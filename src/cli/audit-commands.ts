import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import type { AuditCheckpoint, AuditVerification } from '../contracts.js';
import type { AuditRow } from '../store/audit.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';
import type { CommandIo } from './io.js';
import { stringOption } from './option-values.js';
import { columns, reply, timeCell } from './output.js';
import { withEngine } from './with-engine.js';

const PAGE = 1000;
const MAX_CHECKPOINT_FILE = 64 * 1024 * 1024;

/**
 * `gatehouse audit [--json]`: the whole log, oldest first, read a page at a time. `--json` writes
 * one document, `{installationId, checkpoints, events}`, that `audit verify --checkpoint` accepts.
 */
export async function exportAudit({ io, json, db }: CommandContext): Promise<void> {
  await withEngine(db, false, async (engine) => {
    if (json) {
      const head = { installationId: engine.installationId, checkpoints: engine.auditCheckpoints() };
      await write(io, `${JSON.stringify(head).slice(0, -1)},"events":[`);
    } else {
      await write(io, columns([['ID', 'TIME', 'TYPE', 'OUTCOME', 'USER', 'CLIENT', 'DETAIL']]));
    }
    let afterId = 0;
    for (let first = true; ; first = false) {
      const page = engine.auditLog({ afterId, limit: PAGE });
      if (page.length === 0) break;
      afterId = page.at(-1)!.id;
      await write(io, json ? `${first ? '' : ','}${page.map((row) => JSON.stringify(row)).join(',')}` : textRows(page));
    }
    if (json) await write(io, ']}\n');
  });
}

/** `gatehouse audit verify [--checkpoint FILE]`: exit 1 and every problem listed if tampering shows. */
export async function verifyAudit({ io, values, json, db }: CommandContext): Promise<void> {
  const file = stringOption(values, 'checkpoint');
  const exported = file === undefined ? [] : await readCheckpoints(file);
  const result = await withEngine(db, false, (engine) => engine.verifyAuditLog(exported));
  reply(io, json, result, report(result));
  if (!result.ok) {
    throw new CliError('refused', `The audit log failed verification: ${result.problems.length} problem(s), listed above.`);
  }
}

/** `gatehouse audit checkpoint`: signs the chain head now; keep the output somewhere else. */
export async function auditCheckpoint({ io, json, db }: CommandContext): Promise<void> {
  const checkpoint = await withEngine(db, false, (engine) => engine.auditCheckpoint());
  reply(io, json, checkpoint, JSON.stringify(checkpoint));
}

function textRows(page: readonly AuditRow[]): string {
  return page
    .map((row) =>
      [String(row.id), timeCell(row.at), row.type, row.outcome, row.username ?? '-', row.client_id ?? '-', row.detail ?? '-'].join('  '),
    )
    .join('\n')
    .concat('\n');
}

function report(result: AuditVerification): string {
  const pruned = result.prunedThrough > 0 ? `; events up to ${result.prunedThrough} were removed by retention` : '';
  const summary = `${result.events} event(s) through id ${result.lastId}, ${result.checkpoints} signed checkpoint(s)${pruned}`;
  if (result.ok) return `The audit log is intact: ${summary}.\nHead: ${result.headHash}`;
  return [`The audit log has been tampered with (${summary}):`, ...result.problems.map((p) => `  - ${p}`)].join('\n');
}

/** Checkpoints from a file: one checkpoint, a list of them, or an `audit --json` export. */
async function readCheckpoints(file: string): Promise<AuditCheckpoint[]> {
  let parsed: unknown;
  try {
    if ((await stat(file)).size > MAX_CHECKPOINT_FILE) throw new Error('it is larger than 64 MiB');
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError('refused', `Cannot read checkpoints from ${file}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : isObject(parsed) && Array.isArray(parsed.checkpoints) ? parsed.checkpoints : [parsed];
  if (list.length === 0 || !list.every((c) => isObject(c) && typeof c.token === 'string')) {
    throw new CliError('refused', `${file} holds no audit checkpoints (each needs its "token").`);
  }
  return list as AuditCheckpoint[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

async function write(io: CommandIo, chunk: string): Promise<void> {
  if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
}
