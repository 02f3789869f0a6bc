import type { ClientInfo } from '../contracts.js';
import type { NewClientInput } from '../engine/clients-admin.js';
import type { CommandContext } from './command.js';
import { CliError } from './errors.js';
import type { CommandIo } from './io.js';
import { columns, listCell, reply, timeCell } from './output.js';
import { flag, grantsOption, scopeOption } from './option-values.js';
import { readStdin } from './stdin.js';
import { withEngine } from './with-engine.js';

/**
 * `gatehouse clients add ID [--secret-stdin | --generate-secret] [--scope "a b"] [--grants …]`.
 * A generated secret is printed here, once; it is never shown again (only its hash is kept).
 */
export async function addClient({ io, args, values, json, db }: CommandContext): Promise<void> {
  const input = { id: args[0]!, scope: scopeOption(values), grants: grantsOption(values) };
  const secret = await secretOf(io, values);
  const added = await withEngine(db, true, (engine) => engine.clients.add({ ...input, secret }));
  const { client } = added;
  const summary = `Added ${kind(client)} client "${client.id}" (grants: ${listCell(client.grants, ', ')}; scope: ${listCell(client.scope)}).`;
  if (added.secret === undefined) reply(io, json, client, summary);
  else reply(io, json, { ...client, secret: added.secret }, `${summary}\nIts secret, shown only this once: ${added.secret}`);
}

/** `gatehouse clients list` */
export async function listClients({ io, json, db }: CommandContext): Promise<void> {
  const clients = await withEngine(db, false, (engine) => engine.clients.list());
  const rows = clients.map((c) => [c.id, kind(c), listCell(c.grants, ','), listCell(c.scope), timeCell(c.createdAt)]);
  reply(io, json, clients, clients.length === 0 ? 'No clients.' : columns([['ID', 'TYPE', 'GRANTS', 'SCOPE', 'CREATED'], ...rows]));
}

/** `gatehouse clients remove ID` */
export async function removeClient({ io, args, json, db }: CommandContext): Promise<void> {
  const id = args[0]!;
  await withEngine(db, false, (engine) => engine.clients.remove(id));
  reply(io, json, { id, removed: true }, `Removed client "${id}" and ended its sessions.`);
}

/** `--secret-stdin` reads a chosen secret, `--generate-secret` asks for one, neither: a public client. */
async function secretOf(io: CommandIo, values: CommandContext['values']): Promise<NewClientInput['secret']> {
  const fromStdin = flag(values, 'secret-stdin');
  const generate = flag(values, 'generate-secret');
  if (fromStdin && generate) throw new CliError('usage', 'Give --secret-stdin or --generate-secret, not both.');
  if (generate) return 'generate';
  return fromStdin ? { value: await readStdin(io.stdin) } : 'none';
}

function kind(client: ClientInfo): string {
  return client.confidential ? 'confidential' : 'public';
}
