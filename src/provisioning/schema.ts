import { z } from 'zod';
import { appPolicySchema } from '../electron/app-policy.js';
import { isAllowedUsername, USERNAME_RULE } from '../engine/users-admin.js';
import { SCOPE_TOKEN } from '../oauth/scope.js';

/**
 * The provisioning file: the source of truth for its JSON Schema (provisioning/provisioning.schema.json
 * is generated from it). Shapes and types are checked here; limits that depend on each other (the
 * policy's) and references between parts (scopes, unique names) are checked in validate.ts.
 */

const scopeName = z.string().regex(SCOPE_TOKEN, 'must be a scope name (RFC 6749 §3.3: visible ASCII, no space, quote or backslash)');
export const scopesSchema = z.array(scopeName).max(1000).default([]).describe("The installation's known scopes.");
const scopeList = z.array(scopeName).max(100).describe('Scope names; each must be listed in `scopes`.');
const seconds = z.number().int().positive();

const password = z
  .object({
    hash: z
      .string()
      .max(512)
      .describe('An argon2id PHC string (make one with: gatehouse hash-password). The password is never in the file.'),
    oneTime: z
      .string()
      .max(4096)
      .describe('A one-time password, to be changed at first sign-in. It is readable by anyone who can read the file: prefer `hash`.'),
  })
  .partial()
  .strict()
  .refine((entry) => (entry.hash === undefined) !== (entry.oneTime === undefined), 'give exactly one of "hash" and "oneTime"')
  .describe('Changing this entry in a newer version sets the password again; leaving it unchanged keeps the one the user chose since.');

export const userSchema = z
  .object({
    username: z.string().min(1).refine(isAllowedUsername, USERNAME_RULE),
    displayName: z.string().trim().min(1).max(128).nullable().optional(),
    scope: scopeList.default([]),
    disabled: z.boolean().default(false),
    password,
  })
  .strict();

export const clientSchema = z
  .object({
    id: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 visible ASCII characters'),
    secretSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
      .optional()
      .describe('SHA-256 (hex) of a confidential client\'s secret, e.g. `printf %s "$SECRET" | sha256sum`; absent: a public client.'),
    scope: scopeList.default([]),
    grants: z.array(z.enum(['password', 'refresh_token'])).max(2).default(['password', 'refresh_token']),
  })
  .strict();

/** The engine policy a file may set: what applies to the next sign-in without a restart. */
export const policySchema = z
  .object({
    accessTokenTtlSeconds: seconds,
    refreshIdleSeconds: seconds,
    refreshAbsoluteSeconds: seconds,
    sessionRetentionSeconds: z.number().int().min(0),
    password: z
      .object({
        minLength: seconds,
        maxLength: seconds,
        contextWords: z.array(z.string()).max(100),
      })
      .partial()
      .strict(),
    lockout: z
      .object({
        freeFailures: seconds,
        initialDelaySeconds: seconds,
        maxDelaySeconds: seconds,
        maxFailures: seconds,
        lockSeconds: seconds,
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict()
  .describe('Engine policy over the defaults (docs/api.md, Policy); an application may still override it in openEngine.');

/** The app settings a file may set; machine policy wins over them. */
export const provisionedAppSettingsSchema = appPolicySchema
  .pick({ appName: true, helpdeskText: true, idleLockSeconds: true, staySignedInAllowed: true })
  .strict();

export const provisioningFileSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.number().int().positive().describe('Raise it with every change: an older or equal version with other content is refused.'),
    scopes: scopesSchema,
    users: z.array(userSchema).max(100_000).default([]),
    clients: z.array(clientSchema).max(1000).default([]),
    policy: policySchema.default({}),
    app: provisionedAppSettingsSchema.default({}),
  })
  .strict();

export type ProvisioningFile = z.output<typeof provisioningFileSchema>;
export type ProvisionedUser = ProvisioningFile['users'][number];
export type ProvisionedClient = ProvisioningFile['clients'][number];
export type ProvisionedAppSettings = z.output<typeof provisionedAppSettingsSchema>;
