import type { Argon2Params } from './phc.js';

/** Message from the pool to a hash worker. */
export interface DeriveRequest {
  id: number;
  password: string;
  salt: Uint8Array;
  params: Argon2Params;
  length: number;
}

/** A hash worker's answer. */
export type DeriveResponse = { id: number; hash: Uint8Array } | { id: number; error: string };
