import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const BIN = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What `gatehouse serve` prints on stdout once both its listeners are ready. */
export interface ReadyLine {
  issuer: string;
  resource: string;
}

/** A `gatehouse serve` child process that has printed its ready line. */
export interface Served {
  child: ChildProcess;
  /** The ready line, parsed. */
  ready: ReadyLine;
  /** The base URL (from the issuer, unless --issuer was given). */
  url: string;
  port: number;
  /** The resource service's base URL (from the ready line) and port. */
  resourceUrl: string;
  resourcePort: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr contains `text` (rejects if the process ends first). */
  stderrIncludes(text: string): Promise<void>;
  /** Sends the signal and resolves once the process has exited and closed its output. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

// Whatever a test left running (it failed before stopping it) is killed when the file ends.
afterAll(async () => {
  await Promise.all([...children].map((child) => stopChild(child, 'SIGKILL')));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp directory removed when the test file ends (for state shared across its tests). */
export function fileTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
  dirs.push(dir);
  return dir;
}

/** Runs the CLI with these arguments and collects its output, for commands that end by themselves. */
export function runGatehouse(args: readonly string[], options: LaunchOptions = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const child = spawnTracked([BIN, ...args], options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return closed(child).then((exit) => ({ ...exit, stdout, stderr }));
}

/**
 * Starts `node bin/gatehouse.js serve ARGS` and waits for its ready line (rejects if it exits first).
 * Unless ARGS say otherwise, the resource service takes a free port (`--resource-port 0`), so that
 * test files running side by side never compete for the default one.
 */
export async function startServe(args: readonly string[], options: LaunchOptions = {}): Promise<Served> {
  const child = spawnTracked([BIN, 'serve', ...args, ...(args.includes('--resource-port') ? [] : ['--resource-port', '0'])], options);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as ReadyLine);
    });
    child.once('exit', (code) => reject(new Error(`gatehouse serve exited (${code}) before it was ready: ${stderr}`)));
  });
  const url = args.includes('--issuer') ? `http://127.0.0.1:${args[args.indexOf('--port') + 1]}` : ready.issuer;
  return {
    child,
    ready,
    url,
    port: Number(new URL(url).port),
    resourceUrl: ready.resource,
    resourcePort: Number(new URL(ready.resource).port),
    stdout: () => stdout,
    stderr: () => stderr,
    stderrIncludes: (text) =>
      new Promise((resolve, reject) => {
        const look = () => {
          if (!stderr.includes(text)) return;
          child.stderr!.off('data', look);
          resolve();
        };
        child.stderr!.on('data', look);
        child.once('exit', () => reject(new Error(`gatehouse serve exited without writing ${JSON.stringify(text)}: ${stderr}`)));
        look();
      }),
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
}

export interface LaunchOptions {
  /**
   * A command that execs the rest of its arguments (`node BIN …`) after setting something up, e.g.
   * `['bash', '-c', 'ulimit -f 64; exec "$@"', 'bash']` for a file size limit.
   */
  prefix?: readonly string[];
}

function spawnTracked(args: readonly string[], { prefix = [] }: LaunchOptions = {}): ChildProcess {
  const [command, ...commandArgs] = [...prefix, process.execPath, ...args];
  const child = spawn(command!, commandArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  void closed(child).then(() => children.delete(child));
  return child;
}

function closed(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<Exit> {
  const done = closed(child);
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  return done;
}

/** A raw HTTP/1.1 exchange, for requests fetch will not send (odd Host lines, absolute targets). */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as is to 127.0.0.1:port and reads one response (by Content-Length, or to the close). */
export async function rawRequest(port: number, request: string): Promise<RawResponse> {
  return (await rawRequests(port, [request]))[0]!;
}

/** Sends each request on one connection once the previous response has arrived; returns the responses. */
export function rawRequests(port: number, requests: readonly string[]): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const responses: RawResponse[] = [];
    let data = Buffer.alloc(0);
    const next = () => {
      if (responses.length === requests.length) {
        socket.destroy();
        resolve(responses);
      } else socket.write(requests[responses.length]!);
    };
    const parse = (final: boolean) => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return final ? reject(new Error(`no response: ${JSON.stringify(data.toString())}`)) : undefined;
      const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = headers['content-length'] === undefined ? data.length - end - 4 : Number(headers['content-length']);
      if (!final && data.length < end + 4 + length) return undefined;
      responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString('utf8') });
      data = data.subarray(end + 4 + length);
      next();
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      parse(false);
    });
    socket.on('end', () => parse(true));
    socket.on('error', reject);
    next();
  });
}
