import { z } from 'zod';

/**
 * The desktop app's own rules, beside the engine's Policy: what IT sets through machine policy
 * (issue 7 adds the registry and provisioning sources; a policy file is read today).
 */
export interface AppPolicy {
  /** Shown in the window title and sign-in screen; also a context word for passwords. */
  appName: string;
  /** Whom to ask for help, shown on the sign-in screen (null: nothing shown). */
  helpdeskText: string | null;
  /** Lock the session after this many seconds without activity; 0 turns the idle lock off. */
  idleLockSeconds: number;
  /** Whether people may choose "stay signed in" (the refresh token is then kept with safeStorage). */
  staySignedInAllowed: boolean;
  /** Keep signing keys across restarts, protected with safeStorage (default: in memory only). */
  persistentSigningKeys: boolean;
  /** A shared folder for the database (shared terminals); null: the user's own app data. */
  dataDirectory: string | null;
  /** Also write every audit event and checkpoint to the OS log (syslog/journald, unified log, Event Log). */
  auditForwarding: boolean;
}

export const DEFAULT_APP_POLICY: Readonly<AppPolicy> = Object.freeze({
  appName: 'Gatehouse',
  helpdeskText: null,
  idleLockSeconds: 900,
  staySignedInAllowed: false,
  persistentSigningKeys: false,
  dataDirectory: null,
  auditForwarding: false,
});

const noControlCharacters = (value: string) => !/[\p{Cc}\p{Cf}]/u.test(value);
/** Help text may span lines. */
const noControlCharactersButNewlines = (value: string) => noControlCharacters(value.replace(/\n/g, ''));

/** Every field optional; unknown fields are refused (a misspelt setting must not pass silently). */
export const appPolicySchema = z
  .object({
    appName: z.string().trim().min(1).max(80).refine(noControlCharacters, 'must not contain control characters'),
    helpdeskText: z.string().trim().max(500).refine(noControlCharactersButNewlines, 'must not contain control characters').nullable(),
    idleLockSeconds: z.number().int().min(0).max(86_400),
    staySignedInAllowed: z.boolean(),
    persistentSigningKeys: z.boolean(),
    dataDirectory: z.string().min(1).max(4096).nullable(),
    auditForwarding: z.boolean(),
  })
  .partial()
  .strict();

/** An app policy refused with every problem found, one line each (`idleLockSeconds: …`). */
export class AppPolicyError extends Error {
  override readonly name = 'AppPolicyError';
  constructor(readonly problems: readonly string[]) {
    super(`The app policy is not valid: ${problems.join('; ')}`);
  }
}

/** Merges `input` over the defaults and freezes the result; throws AppPolicyError listing every problem. */
export function resolveAppPolicy(input: unknown = {}): Readonly<AppPolicy> {
  const parsed = appPolicySchema.safeParse(input);
  if (!parsed.success) {
    throw new AppPolicyError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(policy)'}: ${issue.message}`));
  }
  const defined = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return Object.freeze({ ...DEFAULT_APP_POLICY, ...defined });
}
