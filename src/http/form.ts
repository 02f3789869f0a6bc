import type { IncomingMessage } from 'node:http';
import type { RequestParams } from '../contracts.js';
import { readBody } from './body.js';

/** Largest request body read; a form with a token and a password is far smaller. */
const MAX_BODY_BYTES = 16 * 1024;

export const FORM = 'application/x-www-form-urlencoded';

/**
 * Reads an application/x-www-form-urlencoded body (RFC 6749 §3.2) as the ordered name/value pairs
 * URLSearchParams yields, so the engine sees repeated parameters and can refuse them.
 */
export async function readForm(req: IncomingMessage): Promise<RequestParams> {
  const body = await readBody(req, FORM, MAX_BODY_BYTES);
  return [...new URLSearchParams(body.toString('utf8'))];
}
