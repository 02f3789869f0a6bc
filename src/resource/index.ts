/**
 * `gatehouse/resource`: the bearer-token guard for resource servers, as the bundled resource service
 * uses it, for developers' own Node services. See docs/api.md, "gatehouse/resource".
 */
export { BearerGuard, type BearerGuardOptions, type GuardFailure, type GuardResult } from './guard.js';
export { guardFailureBody, sendGuardFailure } from './challenge.js';
export { systemClock, type Clock } from '../clock.js';
export type { AccessTokenClaims, IntrospectionResponse, PublishedKey, ResourceSnapshot, Revocation } from '../contracts.js';
