import { blake2b } from '@noble/hashes/blake2.js';
import { PublicKeyID, PublicProtocol } from 'paseto';
import {
  ExportPublicKeyFactory,
  ExportSecretKeyFactory,
  GenerateKeyPairFactory,
  GetPublicKeyFactory,
  ImportPublicKeyFactory,
  ImportSecretKeyFactory,
  SignFactory,
  VerifyFactory,
} from 'paseto/v4/public';

/**
 * PASERK k4.pid (paseto-standard PASERK, "ID operations"): BLAKE2b-264 over the header and the
 * k4.public serialisation, base64url without padding. paseto@4 leaves k4 ids to its extension API.
 */
export async function k4PublicKeyId(paserk: `k4.public.${string}`): Promise<`k4.pid.${string}`> {
  const key = paserk.slice('k4.public.'.length);
  // An Ed25519 public key is 32 bytes: anything else has no id (PASERK vector k4.pid-fail-1).
  if (!paserk.startsWith('k4.public.') || !/^[A-Za-z0-9_-]{43}$/.test(key) || Buffer.from(key, 'base64url').length !== 32) {
    throw new RangeError('A k4.public key must be 32 bytes.');
  }
  const header = 'k4.pid.';
  const digest = blake2b(new TextEncoder().encode(header + paserk), { dkLen: 33 });
  return `${header}${Buffer.from(digest).toString('base64url')}`;
}

/** v4.public with everything Gatehouse uses, including the k4.pid extension. */
export const v4 = new PublicProtocol(
  GenerateKeyPairFactory,
  SignFactory,
  VerifyFactory,
  ExportPublicKeyFactory,
  ImportPublicKeyFactory,
  ExportSecretKeyFactory,
  ImportSecretKeyFactory,
  GetPublicKeyFactory,
  PublicKeyID<4>({ version: 4, run: k4PublicKeyId }),
);

export type { PublicKey, SecretKey } from 'paseto/v4/public';
