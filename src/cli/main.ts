import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { hashPassword } from './hash-password.js';
import type { CommandIo } from './io.js';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  hash-password        read a password on stdin, print its argon2id PHC string

Options:
  --json               machine-readable output
  -h, --help           show this help
  -v, --version        show the version

Exit codes: 0 ok, 1 operation refused, 2 usage error.
`;

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (values.version) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (command === undefined) throw new CliError('usage', 'No command given; see gatehouse --help.');
    if (rest.length > 0) throw new CliError('usage', `Unexpected argument: ${rest[0]}`);
    switch (command) {
      case 'hash-password':
        await hashPassword(io, values.json);
        return 0;
      default:
        throw new CliError('usage', `Unknown command "${command}"; see gatehouse --help.`);
    }
  } catch (error) {
    const cliError =
      error instanceof CliError
        ? error
        : (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
          ? new CliError('usage', `${(error as Error).message}; see gatehouse --help.`)
          : new CliError('refused', (error as Error).message ?? String(error));
    io.stderr.write(`gatehouse: ${cliError.message.split('\n')[0]}\n`);
    return cliError.exitCode;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
