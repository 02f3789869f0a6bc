import { z } from 'zod';
import { badRequest, type HttpError } from '../http/http-error.js';

/** A title: 1 to 200 characters (Unicode code points, as a person counts them). */
const MAX_TITLE_CHARS = 200;
/** A body: at most 64 KiB of UTF-8. */
export const MAX_RECORD_BODY_BYTES = 64 * 1024;
const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

const title = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .refine((value) => [...value].length <= MAX_TITLE_CHARS, { error: `must be at most ${MAX_TITLE_CHARS} characters` });
const body = z
  .string({ error: 'must be a string' })
  .refine((value) => Buffer.byteLength(value) <= MAX_RECORD_BODY_BYTES, { error: `must be at most ${MAX_RECORD_BODY_BYTES} bytes of UTF-8` });
const object = { error: 'The request body must be a JSON object.' };

const newRecord = z.strictObject({ title, body }, object);
const recordChanges = z
  .strictObject({ title: title.optional(), body: body.optional() }, object)
  .refine((changes) => changes.title !== undefined || changes.body !== undefined, { error: 'Send title, body or both.' });
const pageQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, { error: `must be a whole number from 1 to ${MAX_PAGE}` })
    .transform(Number)
    .refine((limit) => limit <= MAX_PAGE, { error: `must be a whole number from 1 to ${MAX_PAGE}` })
    .default(DEFAULT_PAGE),
  cursor: z.string().optional(),
});

export type NewRecord = z.infer<typeof newRecord>;
export type RecordChanges = z.infer<typeof recordChanges>;
export type PageQuery = z.infer<typeof pageQuery>;

export const parseNewRecord = (value: unknown): NewRecord => parse(newRecord, value);
export const parseRecordChanges = (value: unknown): RecordChanges => parse(recordChanges, value);

/** `?limit=&cursor=`, each at most once and nothing else. */
export function parsePageQuery(query: URLSearchParams): PageQuery {
  const params: Record<string, string> = {};
  for (const [name, value] of query) {
    if (Object.hasOwn(params, name)) throw badRequest(`The query parameter ${name} is repeated.`);
    params[name] = value;
  }
  return parse(pageQuery, params, 'query parameter');
}

/** The value, or 400 invalid_request naming the first field at fault. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what = 'field'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw describeIssue(result.error.issues[0]!, what);
}

function describeIssue(issue: z.core.$ZodIssue, what: string): HttpError {
  if (issue.code === 'unrecognized_keys') return badRequest(`Unknown ${what}: ${issue.keys.join(', ')}.`);
  if (issue.path.length === 0) return badRequest(issue.message);
  return badRequest(`${issue.path.join('.')} ${issue.message}.`);
}
