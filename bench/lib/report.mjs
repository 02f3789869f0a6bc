import { writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform } from 'node:os';

/**
 * A table row: one target of one figure. `key` is where the measured number sits in the figure's
 * result (`value` unless a figure has a second target, as scale does for its open time).
 */
export function rowsOf(figure) {
  return figure.rows ?? [{ id: figure.id, label: figure.id, key: 'value', unit: figure.unit, target: figure.target }];
}

export function meets(value, target) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (!target) return undefined;
  if (target.max !== undefined) return value <= target.max;
  if (target.min !== undefined) return value >= target.min;
  return undefined;
}

const fmtTarget = (t, unit) => (!t ? '—' : t.max !== undefined ? `≤ ${t.max}${unit ? ` ${unit}` : ''}` : `≥ ${t.min}${unit ? ` ${unit}` : ''}`);

function fmtValue(value, unit) {
  if (typeof value !== 'number') return '—';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export function runInfo() {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    loadavg_1m_at_start: Math.round(loadavg()[0] * 100) / 100,
  };
}

/**
 * The readable table: one line per target (id, measured, target, met), then the short "how/why"
 * text of each figure under it.
 */
export function formatTable(figures, outcomes, info) {
  const lines = [];
  lines.push(`Gatehouse benchmarks — ${info.date} — Node ${info.node}, ${info.platform}, ${info.cpus}, load average ${info.loadavg_1m_at_start}`);
  lines.push('');
  const header = ['id', 'measured', 'target', 'met'];
  const table = [];
  for (const figure of figures) {
    const outcome = outcomes.get(figure.id);
    for (const row of rowsOf(figure)) {
      if (!outcome) continue;
      if (outcome.skipped || outcome.error) {
        table.push([row.label, outcome.skipped ? 'not built yet' : 'error', fmtTarget(row.target, row.unit), '—']);
        continue;
      }
      const value = outcome.result[row.key];
      const met = meets(value, row.target);
      table.push([row.label, fmtValue(value, row.unit), fmtTarget(row.target, row.unit), met === undefined ? '—' : met ? 'yes' : 'NO']);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  lines.push(line(header));
  lines.push(line(widths.map((w) => '-'.repeat(w))));
  for (const r of table) lines.push(line(r));
  lines.push('');
  for (const figure of figures) {
    const outcome = outcomes.get(figure.id);
    if (!outcome) continue;
    const text = outcome.skipped ?? outcome.error ?? outcome.result.summary;
    const load = outcome.result?.loadavg_1m;
    if (text) lines.push(`${figure.id}: ${text}${load ? ` [load ${load.before} → ${load.after}]` : ''}`);
  }
  return lines.join('\n');
}

/**
 * bench/results.json: keyed by the issue's ids, each `{ value, …details }`; figures that were not
 * measured (not built yet, failed, or left out by --only) are absent. Every entry carries `met`
 * and the run's date and machine under `run`.
 */
export function writeResults(file, figures, outcomes, info) {
  const json = {};
  for (const figure of figures) {
    const outcome = outcomes.get(figure.id);
    if (!outcome?.result) continue;
    const { summary: _summary, ...result } = outcome.result;
    const rows = rowsOf(figure);
    const checks = rows.map((row) => meets(result[row.key], row.target)).filter((m) => m !== undefined);
    json[figure.id] = {
      ...result,
      unit: figure.unit ?? rows[0]?.unit,
      target: Object.fromEntries(rows.map((row) => [row.key, fmtTarget(row.target, row.unit)])),
      met: checks.length === 0 ? null : checks.every(Boolean),
      run: info,
    };
  }
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}
