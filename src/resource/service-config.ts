import { join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_CLOCK_LEEWAY_SECONDS } from '../engine/policy.js';

/** The service process's entry module (dist/resource/service-main.js), whatever starts it. */
export const SERVICE_ENTRY = fileURLToPath(new URL('./service-main.js', import.meta.url));

/**
 * What a resource service process is started with, on its command line. None of it is secret (the
 * command line is visible to other processes of the same user): the keys and revocations it trusts
 * come over the parent link, in the snapshot.
 */
export interface ServiceConfig {
  /** TCP port on 127.0.0.1; 0 picks a free one (the service reports the one bound). */
  port: number;
  /** The records database (SQLite), created if missing. */
  dataPath: string;
  /** The only `iss` and `aud` its guard accepts (the engine's). */
  issuer: string;
  audience: string;
  /** Clock skew allowed when checking token times, as the engine's policy says. */
  leewaySeconds: number;
  /** Browser origins allowed to call it (exact `Origin` values); usually none. */
  allowedOrigins: readonly string[];
}

/** The arguments that carry `config` (each as `--name=value`, so a value may start with `-`). */
export function serviceArgs(config: ServiceConfig): string[] {
  return [
    `--port=${config.port}`,
    `--data=${config.dataPath}`,
    `--issuer=${config.issuer}`,
    `--audience=${config.audience}`,
    `--leeway=${config.leewaySeconds}`,
    ...config.allowedOrigins.map((origin) => `--origin=${origin}`),
  ];
}

/** Reads what serviceArgs wrote; throws a TypeError naming the first thing wrong. */
export function parseServiceArgs(args: readonly string[]): ServiceConfig {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      leeway: { type: 'string' },
      origin: { type: 'string', multiple: true, default: [] },
    },
  });
  const port = wholeNumber(values.port, 'port', 65535);
  const leewaySeconds = wholeNumber(values.leeway, 'leeway', MAX_CLOCK_LEEWAY_SECONDS);
  const [dataPath, issuer, audience] = (['data', 'issuer', 'audience'] as const).map((name) => {
    const value = values[name];
    if (!value) throw new TypeError(`--${name} is required.`);
    return value;
  }) as [string, string, string];
  return { port, dataPath, issuer, audience, leewaySeconds, allowedOrigins: values.origin };
}

function wholeNumber(value: string | undefined, name: string, max: number): number {
  if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) > max) {
    throw new TypeError(`--${name} must be a whole number from 0 to ${max}.`);
  }
  return Number(value);
}

/**
 * The records database: beside the auth database, named after it with `.db` replaced by
 * `.data.db` (`gatehouse.db` → `gatehouse.data.db`; a name without `.db` gets `.data.db` added).
 */
export function dataPathFor(db: string): string {
  const { dir, base } = parse(db);
  return join(dir, `${base.endsWith('.db') ? base.slice(0, -'.db'.length) : base}.data.db`);
}
