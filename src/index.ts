/**
 * Gatehouse: an offline, embeddable OAuth 2.0 authorization engine (password and refresh_token
 * grants, SQLite, argon2id, PASETO v4.public). See docs/api.md.
 */
export { openEngine, Engine, type CallerOptions, type EngineOptions, type EngineEvents, type TokenRequest } from './engine/engine.js';
export { DEFAULT_POLICY, type AuditRules, type LockoutRules, type Policy, type PolicyOptions } from './engine/policy.js';
export { passwordViolations, type PasswordRules } from './passwords/policy.js';
export { passwordStrength, type PasswordStrength } from './passwords/strength.js';
export type { Argon2Params } from './passwords/phc.js';
export { AdminError, type AdminErrorCode } from './engine/admin-error.js';
export { EngineClosedError } from './engine/engine-closed-error.js';
export type { NewUserInput } from './engine/users-admin.js';
export type { NewClientInput } from './engine/clients-admin.js';
export type { RestoreOutcome } from './engine/restore.js';
export { OAuthError } from './oauth/errors.js';
export { parseBasicAuthorization, type BasicCredentials } from './oauth/client-auth.js';
export { TokenError, type TokenErrorCode } from './tokens/access-tokens.js';
export type { KeyProtector } from './tokens/key-protector.js';
export { k4PublicKeyId } from './tokens/paseto-v4.js';
export { StoreError, type StoreErrorCode } from './store/errors.js';
export type { AuditRow, AuditOutcome } from './store/audit.js';
export { systemClock, type Clock } from './clock.js';
export type * from './contracts.js';
export { forwardAudit, type AuditLine, type CheckpointLine, type LineSink } from './engine/audit-forwarding.js';
export { OsLogForwarder, defaultOsLogCommand, WINDOWS_EVENT_SOURCE, type OsLogCommand, type OsLogForwarderOptions } from './security/os-log-forwarder.js';
export { provision, type ProvisionOptions, type ProvisionResult } from './provisioning/provision.js';
export type { ProvisionChange } from './provisioning/plan.js';
export { ProvisioningError } from './provisioning/problems.js';
export { readProvisioningFile } from './provisioning/read-file.js';
export { provisioningJsonSchema } from './provisioning/json-schema.js';
export type { ProvisioningFile, ProvisionedAppSettings } from './provisioning/schema.js';
