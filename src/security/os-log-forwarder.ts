import { spawn, type ChildProcess } from 'node:child_process';
import { monotonicMs } from '../clock.js';

/** The program that writes to the OS log and its arguments; it reads one message per stdin line. */
export interface OsLogCommand {
  program: string;
  args: readonly string[];
}

export interface OsLogForwarderOptions {
  /** Default: the platform's (see defaultOsLogCommand). Tests point `logger` at a syslog receiver. */
  command?: OsLogCommand | undefined;
  /** Where the forwarder says it lost or regained the OS log (one line per outage, not per event). */
  log?: ((message: string) => void) | undefined;
}

/** The Windows event source the installer registers (New-EventLog -LogName Application -Source Gatehouse). */
export const WINDOWS_EVENT_SOURCE = 'Gatehouse';
/** Restart delays after the writer exits: doubling from the first to the last, reset once it works again. */
const FIRST_RESTART_MS = 250;
const LAST_RESTART_MS = 30_000;
/** A writer this far behind (bytes queued on its stdin) is not keeping up: further lines are dropped. */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** Longest line syslog is asked to carry whole (logger truncates at its --size). */
const MAX_LINE_BYTES = 8192;

/**
 * The platform's long-lived OS-log writer, tagged `gatehouse`:
 * - Linux: util-linux logger, RFC 5424 framing, to syslog (journald on systemd), failing loudly when
 *   nothing listens on /dev/log;
 * - macOS: logger (BSD), to the unified log;
 * - Windows: Windows PowerShell writing each line to the Application event log with Write-EventLog
 *   under the source the installer registered (one process for all lines, unlike eventcreate).
 */
export function defaultOsLogCommand(platform: NodeJS.Platform = process.platform): OsLogCommand {
  if (platform === 'win32') {
    const script =
      '[Console]::InputEncoding = [Text.Encoding]::UTF8; ' +
      'while ($null -ne ($line = [Console]::In.ReadLine())) { ' +
      `Write-EventLog -LogName Application -Source ${WINDOWS_EVENT_SOURCE} -EventId 1000 -EntryType Information -Message $line }`;
    return { program: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-Command', script] };
  }
  if (platform === 'darwin') return { program: '/usr/bin/logger', args: ['-t', 'gatehouse', '-p', 'auth.notice'] };
  // --socket-errors=on: without it, logger drops every line in silence (exit 0) when no syslog listens.
  return {
    program: '/usr/bin/logger',
    args: ['-t', 'gatehouse', '-p', 'auth.notice', '--rfc5424', '--size', String(MAX_LINE_BYTES), '--socket-errors=on'],
  };
}

/**
 * Writes lines to the OS log through one long-lived writer process fed on stdin. It never throws
 * and never waits: when the writer is gone or behind, the line is dropped and counted, the loss is
 * logged once, and the writer is restarted with backoff. Sign-ins never depend on it.
 */
export class OsLogForwarder {
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private delay = FIRST_RESTART_MS;
  private lostSaid = false;
  private closed = false;
  private droppedLines = 0;
  private readonly command: OsLogCommand;
  private readonly log: (message: string) => void;

  constructor(options: OsLogForwarderOptions = {}) {
    this.command = options.command ?? defaultOsLogCommand();
    if (typeof this.command.program !== 'string' || !Array.isArray(this.command.args) || !this.command.args.every((a) => typeof a === 'string')) {
      throw new TypeError('The OS log command needs a program and a list of string arguments.');
    }
    this.log = options.log ?? ((message) => process.emitWarning(`gatehouse: ${message}`));
    this.start();
  }

  /** Lines dropped because the writer was gone or behind (since this forwarder started). */
  get dropped(): number {
    return this.droppedLines;
  }

  /** The writer's process id while it runs (tests end it to show sign-ins do not depend on it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Queues one line (a newline inside it would split the message, so it must hold none). */
  write(line: string): void {
    if (line.includes('\n') || line.includes('\r')) throw new TypeError('An OS log line must not contain a line break.');
    const stdin = this.child?.stdin;
    if (this.closed || !stdin?.writable || stdin.writableLength > MAX_QUEUED_BYTES) {
      this.drop();
      return;
    }
    stdin.write(`${line}\n`);
  }

  /** Ends the writer once it has taken every queued line. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once('close', () => done()));
    child.stdin?.end();
    await exited;
  }

  private start(): void {
    const child = spawn(this.command.program, [...this.command.args], { stdio: ['pipe', 'ignore', 'pipe'], windowsHide: true });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-500)));
    // A broken pipe shows as the writer's exit, handled below.
    child.stdin?.on('error', () => undefined);
    const startedAt = monotonicMs();
    child.once('error', (error) => this.lost(child, startedAt, error.message));
    child.once('exit', (code, signal) => this.lost(child, startedAt, `exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
  }

  private lost(child: ChildProcess, startedAt: number, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.closed) return;
    // A writer that ran a good while had recovered: this is a new outage, said again, retried soon.
    if (monotonicMs() - startedAt > LAST_RESTART_MS) {
      this.lostSaid = false;
      this.delay = FIRST_RESTART_MS;
    }
    if (!this.lostSaid) {
      this.log(`the OS log writer (${this.command.program}) ${why}; audit lines are dropped and counted until it restarts (${this.droppedLines} dropped so far)`);
    }
    this.lostSaid = true;
    this.restartTimer = setTimeout(() => this.start(), this.delay);
    this.restartTimer.unref();
    this.delay = Math.min(this.delay * 2, LAST_RESTART_MS);
  }

  private drop(): void {
    this.droppedLines += 1;
  }
}
