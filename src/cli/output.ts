import { toRfc3339 } from '../clock.js';
import type { CommandIo } from './io.js';

/** Rows as columns aligned with spaces (widths in code points); the last column is not padded. */
export function columns(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, length(cell))));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - length(cell)))).join('  '),
  );
  return `${lines.join('\n')}\n`;
}

/** A time for people: ISO 8601 / RFC 3339 in UTC, to the second. */
export function timeCell(ms: number): string {
  return toRfc3339(ms);
}

/** A list of words (scopes, grants, flags) in one cell; `-` when it is empty. */
export function listCell(items: readonly string[], separator = ' '): string {
  return items.length > 0 ? items.join(separator) : '-';
}

/** `--json` prints one JSON document; otherwise the text (a confirmation or a table). */
export function reply(io: CommandIo, json: boolean, value: unknown, text: string): void {
  io.stdout.write(json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') ? text : `${text}\n`);
}

function length(text: string): number {
  return [...text].length;
}
