import { CliError } from './errors.js';

const MAX_STDIN_BYTES = 64 * 1024;

/**
 * Reads all of stdin as UTF-8 and strips one trailing `\n` or `\r\n`, as the CLI contract says.
 * Secrets come only this way, never from argv, where other users of the machine can see them.
 */
export async function readStdin(stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<string> {
  if (stdin.isTTY) throw new CliError('usage', 'Pipe the secret on standard input (it is never read from arguments).');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new CliError('refused', 'Standard input is too large.');
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
