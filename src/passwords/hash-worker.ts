// Runs argon2id off the calling thread: one derivation per message, nothing kept between them.
import { parentPort } from 'node:worker_threads';
import { argon2id } from '@noble/hashes/argon2.js';
import { lowerThisThreadPriority } from '../background-thread.js';
import type { DeriveRequest, DeriveResponse } from './hash-protocol.js';

if (!parentPort) throw new Error('hash-worker must run in a worker thread');
const port = parentPort;
// Hashing takes whole cores for hundreds of milliseconds: the event loop must not wait behind it.
lowerThisThreadPriority();

port.on('message', (request: DeriveRequest) => {
  let response: DeriveResponse;
  try {
    const { m, t, p } = request.params;
    const hash = argon2id(request.password, request.salt, { m, t, p, dkLen: request.length });
    response = { id: request.id, hash };
  } catch (error) {
    response = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(response);
});
