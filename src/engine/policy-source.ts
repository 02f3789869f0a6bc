import type { Database, Statement } from 'better-sqlite3';
import type { ProvisioningRepository } from '../store/provisioning.js';
import { layerPolicyOptions, resolvePolicy, type Policy, type PolicyOptions } from './policy.js';

/**
 * The engine policy in force: DEFAULT_POLICY, under the policy provisioned in the database, under
 * openEngine's own options. Nothing that decides a sign-in may be cached past a write, so each look
 * asks SQLite whether another connection committed since (PRAGMA data_version, a read of shared
 * memory) and re-reads the provisioned policy if so; this connection's own provisioning calls
 * `reload()`.
 */
export class PolicySource {
  private readonly dataVersion: Statement<[], number>;
  private seenVersion: number;
  private stored: string;
  private policy: Readonly<Policy>;

  /**
   * A provisioned policy that contradicts the options (say, an idle timeout beyond the options'
   * absolute one) is not applied: the engine runs on the options alone, or keeps the policy it had,
   * and `warn` says why. The options themselves were checked by openEngine.
   */
  constructor(
    private readonly db: Database,
    private readonly provisioning: ProvisioningRepository,
    private readonly options: PolicyOptions,
    private readonly warn: (message: string) => void,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck() as Statement<[], number>;
    this.seenVersion = this.dataVersion.get()!;
    this.policy = resolvePolicy(options);
    this.stored = '{}';
    this.reload();
  }

  current(): Readonly<Policy> {
    // A closed engine answers with the policy it last had.
    if (!this.db.open) return this.policy;
    const version = this.dataVersion.get()!;
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.reload();
    }
    return this.policy;
  }

  /** Re-reads the provisioned policy. One that no longer fits this engine's options is not applied (and said so). */
  reload(): void {
    const stored = this.storedPolicy();
    if (stored === this.stored) return;
    this.stored = stored;
    try {
      this.policy = this.resolve(stored);
    } catch (error) {
      this.warn(`the provisioned policy cannot apply with this engine's options, so it is not applied: ${(error as Error).message}`);
    }
  }

  private storedPolicy(): string {
    return this.provisioning.read()?.policy ?? '{}';
  }

  private resolve(stored: string): Readonly<Policy> {
    return resolvePolicy(layerPolicyOptions(JSON.parse(stored) as PolicyOptions, this.options));
  }
}
