import type { IncomingMessage } from 'node:http';
import type { RequestParams } from '../contracts.js';
import { HttpError } from './http-error.js';

/** Largest request body read; a form with a token and a password is far smaller. */
const MAX_BODY_BYTES = 16 * 1024;

const FORM = 'application/x-www-form-urlencoded';

/**
 * Reads an application/x-www-form-urlencoded body (RFC 6749 §3.2) as the ordered name/value pairs
 * URLSearchParams yields, so the engine sees repeated parameters and can refuse them.
 */
export async function readForm(req: IncomingMessage): Promise<RequestParams> {
  if (!isForm(req.headers['content-type'])) {
    throw unsupported(`The request body must be ${FORM} (UTF-8).`);
  }
  const coding = req.headers['content-encoding'];
  if (coding !== undefined && coding.toLowerCase() !== 'identity') {
    throw unsupported('Compressed request bodies are not accepted.');
  }
  const body = await readBody(req);
  return [...new URLSearchParams(body.toString('utf8'))];
}

/** The media type, with at most a charset parameter, which must be UTF-8. */
function isForm(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim());
  return type!.toLowerCase() === FORM && parameters.every((p) => /^charset=("?)utf-8\1$/i.test(p));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false keeps the socket open when we stop early, so the 413 can still be sent.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function unsupported(description: string): HttpError {
  return new HttpError(415, 'invalid_request', description);
}

function tooLarge(): HttpError {
  return new HttpError(413, 'invalid_request', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
}
