import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a request body of one media type (with at most a charset parameter, which must be UTF-8),
 * uncompressed and at most `maxBytes` long: 415 or 413 otherwise, with the usual JSON error body.
 */
export async function readBody(req: IncomingMessage, mediaType: string, maxBytes: number): Promise<Buffer> {
  if (!hasMediaType(req, mediaType)) throw unsupported(`The request body must be ${mediaType} (UTF-8).`);
  const coding = req.headers['content-encoding'];
  if (coding !== undefined && coding.toLowerCase() !== 'identity') {
    throw unsupported('Compressed request bodies are not accepted.');
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false keeps the socket open when we stop early, so the 413 can still be sent.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Whether the request declares this media type, with at most a charset parameter, which must be UTF-8. */
export function hasMediaType(req: IncomingMessage, mediaType: string): boolean {
  const contentType = req.headers['content-type'];
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim());
  return type!.toLowerCase() === mediaType && parameters.every((p) => /^charset=("?)utf-8\1$/i.test(p));
}

function unsupported(description: string): HttpError {
  return new HttpError(415, 'invalid_request', description);
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'invalid_request', `The request body is larger than ${maxBytes} bytes.`);
}
