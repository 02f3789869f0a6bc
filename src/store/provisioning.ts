import type { Database, Statement } from 'better-sqlite3';

export interface ProvisioningRow {
  version: number;
  content_hash: string;
  policy: string;
  app_settings: string;
  scopes: string;
  applied_at: number;
}

export type ProvisionedKind = 'user' | 'client';

export interface ProvisionedItemRow {
  kind: ProvisionedKind;
  name: string;
  fields_hash: string;
  password_hash: string | null;
}

/** The provisioning file applied last, and the hashes of what it provisioned for each user and client. */
export class ProvisioningRepository {
  private readonly readStmt: Statement<[], ProvisioningRow>;
  private readonly writeStmt: Statement;
  private readonly itemsStmt: Statement<[ProvisionedKind], ProvisionedItemRow>;
  private readonly putItemStmt: Statement;
  private readonly dropItemStmt: Statement;

  constructor(db: Database) {
    this.readStmt = db.prepare('SELECT * FROM provisioning WHERE id = 1');
    this.writeStmt = db.prepare(
      `INSERT INTO provisioning (id, version, content_hash, policy, app_settings, scopes, applied_at)
       VALUES (1, @version, @content_hash, @policy, @app_settings, @scopes, @applied_at)
       ON CONFLICT (id) DO UPDATE SET version = @version, content_hash = @content_hash, policy = @policy,
         app_settings = @app_settings, scopes = @scopes, applied_at = @applied_at`,
    );
    this.itemsStmt = db.prepare('SELECT * FROM provisioned_items WHERE kind = ? ORDER BY name');
    this.putItemStmt = db.prepare(
      `INSERT INTO provisioned_items (kind, name, fields_hash, password_hash) VALUES (@kind, @name, @fields_hash, @password_hash)
       ON CONFLICT (kind, name) DO UPDATE SET fields_hash = @fields_hash, password_hash = @password_hash`,
    );
    this.dropItemStmt = db.prepare('DELETE FROM provisioned_items WHERE kind = ? AND name = ?');
  }

  /** The last applied file's record; undefined if none was ever applied. */
  read(): ProvisioningRow | undefined {
    return this.readStmt.get();
  }

  write(row: ProvisioningRow): void {
    this.writeStmt.run(row);
  }

  items(kind: ProvisionedKind): Map<string, ProvisionedItemRow> {
    return new Map(this.itemsStmt.all(kind).map((row) => [row.name, row]));
  }

  putItem(row: ProvisionedItemRow): void {
    this.putItemStmt.run(row);
  }

  dropItem(kind: ProvisionedKind, name: string): void {
    this.dropItemStmt.run(kind, name);
  }
}
