import { z } from 'zod';
import type { FromResourceService, ToResourceService } from '../contracts.js';

/**
 * Shapes of the messages between the process hosting the engine and its resource service
 * (contracts.ts). Each side checks what it receives: a message from a process is data, and a bad one
 * must be refused whole rather than half applied.
 */

/** Longer tokens are refused by every verifier (see AccessTokens); nothing longer needs to travel. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_TEXT = 1024;

const text = z.string().max(MAX_TEXT);
const epochMs = z.number().int().nonnegative();
const id = z.number().int().nonnegative();

const publishedKey = z.object({
  paserk: z.templateLiteral(['k4.public.', z.string().max(MAX_TEXT)]),
  pid: z.templateLiteral(['k4.pid.', z.string().max(MAX_TEXT)]),
  status: z.enum(['active', 'retiring']),
  verifyUntil: epochMs,
});

const revocation = z.object({
  kind: z.enum(['sid', 'jti']),
  value: text,
  revokedAt: epochMs,
  expiresAt: epochMs,
});

const introspection = z.discriminatedUnion('active', [
  z.object({ active: z.literal(false) }),
  z.object({
    active: z.literal(true),
    token_use: z.enum(['access_token', 'refresh_token']),
    token_type: z.literal('Bearer').exactOptional(),
    scope: text,
    client_id: text,
    username: text,
    sub: text,
    sid: text,
    exp: z.number().int(),
    iat: z.number().int(),
    nbf: z.number().int().exactOptional(),
    iss: text.exactOptional(),
    aud: text.exactOptional(),
    jti: text.exactOptional(),
  }),
]);

// Typed as the contracts, so that these fail to compile if either drifts from the other.
const toService: z.ZodType<ToResourceService> = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('snapshot'),
    snapshot: z.object({ issuer: text, audience: text, keys: z.array(publishedKey), revocations: z.array(revocation) }),
  }),
  z.object({ type: z.literal('keys'), keys: z.array(publishedKey) }),
  z.object({ type: z.literal('revocations'), revocations: z.array(revocation) }),
  z.object({ type: z.literal('sync'), seq: id }),
  z.object({ type: z.literal('introspection'), id, result: introspection }),
  z.object({ type: z.literal('shutdown') }),
]);

const fromService: z.ZodType<FromResourceService> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('listening'), port: z.number().int().min(1).max(65535) }),
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('ack'), seq: id }),
  z.object({ type: z.literal('introspect'), id, token: z.string().max(MAX_TOKEN_LENGTH) }),
  z.object({ type: z.literal('failed'), message: text, code: z.string().max(64).exactOptional() }),
]);

/** A message for the service, checked; undefined (and `why` told) when it is not one. */
export function readToService(message: unknown, why: (problem: string) => void): ToResourceService | undefined {
  return read(toService, message, why);
}

/** A message from the service, checked; undefined (and `why` told) when it is not one. */
export function readFromService(message: unknown, why: (problem: string) => void): FromResourceService | undefined {
  return read(fromService, message, why);
}

function read<T>(schema: z.ZodType<T>, message: unknown, why: (problem: string) => void): T | undefined {
  const result = schema.safeParse(message);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  why(`ignored a malformed message (${issue?.path.join('.') || 'the message'}: ${issue?.message ?? 'invalid'})`);
  return undefined;
}
