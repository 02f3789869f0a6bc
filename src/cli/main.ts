import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandSpec } from './command.js';
import { COMMANDS } from './commands.js';
import { CliError } from './errors.js';
import type { CommandIo } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: Options = {
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'v', default: false },
};

/** Runs the CLI and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CommandIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    // Options may stand anywhere, so parse once with every command's options, then check that
    // each one given belongs to the command named.
    const { values, positionals, tokens } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, tokens: true, options: allOptions() });
    if (values.version) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const command = findCommand(positionals);
    if (values.help || !command) {
      if (!values.help && positionals.length > 0) {
        throw new CliError('usage', `Unknown command "${positionals.join(' ')}"; see gatehouse --help.`);
      }
      if (!values.help) throw new CliError('usage', 'No command given; see gatehouse --help.');
      io.stdout.write(usage());
      return 0;
    }
    const own = { ...GLOBAL_OPTIONS, ...command.options };
    const foreign = Object.keys(values).find((name) => !(name in own));
    if (foreign) throw new CliError('usage', `"gatehouse ${command.path.join(' ')}" has no option --${foreign}.`);
    // parseArgs keeps only the last of a repeated option: `--scope a --scope b` would lose `a`.
    const names = tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : []));
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated) throw new CliError('usage', `--${repeated} is given more than once.`);
    const args = positionals.slice(command.path.length);
    checkPositionals(command, args);
    const db = typeof values.db === 'string' ? values.db : env.GATEHOUSE_DB || './gatehouse.db';
    if (db === '') throw new CliError('usage', '--db needs a file path.');
    await command.run({ io, args, values, json: values.json === true, db });
    return 0;
  } catch (error) {
    const cliError = toCliError(error);
    io.stderr.write(`gatehouse: ${cliError.message.split('\n')[0]}\n`);
    for (const detail of cliError.details) io.stderr.write(`  ${detail.split('\n')[0]}\n`);
    return cliError.exitCode;
  }
}

function allOptions(): Options {
  const options: Options = { ...GLOBAL_OPTIONS };
  for (const command of COMMANDS) Object.assign(options, command.options);
  return options;
}

/** The command whose words begin the positionals (the longest match). */
function findCommand(positionals: readonly string[]): CommandSpec | undefined {
  let found: CommandSpec | undefined;
  for (const command of COMMANDS) {
    const matches = command.path.every((word, i) => positionals[i] === word);
    if (matches && command.path.length > (found?.path.length ?? 0)) found = command;
  }
  return found;
}

function checkPositionals(command: CommandSpec, args: readonly string[]): void {
  const required = command.positionals.filter((name) => !name.endsWith('?')).length;
  const name = `gatehouse ${command.path.join(' ')}`;
  if (args.length < required) {
    throw new CliError('usage', `${name} needs ${command.positionals.slice(args.length).filter((p) => !p.endsWith('?')).join(' ')}.`);
  }
  if (args.length > command.positionals.length) throw new CliError('usage', `Unexpected argument: ${args[command.positionals.length]}`);
}

function usage(): string {
  const lines = COMMANDS.map((command) => {
    const words = [...command.path, ...command.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : p))].join(' ');
    return `  ${words.padEnd(34)} ${command.usage}`;
  });
  return `Usage: gatehouse <command> [options]

Commands:
${lines.join('\n')}

Global options:
  --db PATH            the database (default: env GATEHOUSE_DB, else ./gatehouse.db)
  --json               machine-readable output
  -h, --help           show this help
  -v, --version        show the version

Secrets are read from standard input, never from arguments.
Exit codes: 0 ok, 1 operation refused, 2 usage error.
`;
}

function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    return new CliError('usage', `${(error as Error).message}; see gatehouse --help.`);
  }
  return new CliError('refused', (error as Error).message ?? String(error));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
