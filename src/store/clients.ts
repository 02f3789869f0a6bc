import type { Database, Statement } from 'better-sqlite3';
import type { ClientInfo, GrantType } from '../contracts.js';
import { joinList, splitList } from './space-list.js';

export interface ClientRow {
  id: string;
  secret_hash: Buffer | null;
  scope: string;
  grants: string;
  created_at: number;
}

export class ClientRepository {
  private readonly byId: Statement<[string], ClientRow>;
  private readonly all: Statement<[], ClientRow>;
  private readonly insertRow: Statement;
  private readonly updateRow: Statement;
  private readonly deleteRow: Statement;

  constructor(db: Database) {
    this.byId = db.prepare('SELECT * FROM clients WHERE id = ?');
    this.all = db.prepare('SELECT * FROM clients ORDER BY id');
    this.insertRow = db.prepare(
      'INSERT INTO clients (id, secret_hash, scope, grants, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.updateRow = db.prepare('UPDATE clients SET secret_hash = ?, scope = ?, grants = ? WHERE id = ?');
    this.deleteRow = db.prepare('DELETE FROM clients WHERE id = ?');
  }

  find(id: string): ClientRow | undefined {
    return this.byId.get(id);
  }

  list(): ClientRow[] {
    return this.all.all();
  }

  insert(id: string, secretHash: Buffer | null, scope: string, grants: readonly GrantType[], now: number): void {
    this.insertRow.run(id, secretHash, scope, joinList(grants), now);
  }

  update(id: string, secretHash: Buffer | null, scope: string, grants: readonly GrantType[]): void {
    this.updateRow.run(secretHash, scope, joinList(grants), id);
  }

  remove(id: string): boolean {
    return this.deleteRow.run(id).changes > 0;
  }
}

export function clientGrants(row: ClientRow): GrantType[] {
  return splitList(row.grants) as GrantType[];
}

export function toClientInfo(row: ClientRow): ClientInfo {
  return {
    id: row.id,
    confidential: row.secret_hash !== null,
    scope: splitList(row.scope),
    grants: clientGrants(row),
    createdAt: row.created_at,
  };
}
