// Gatehouse benchmarks (issue 8): every figure is a ratio against a reference measured in the same
// run on the same machine. `npm run bench` builds dist/ first and runs this.
//
//   node bench/run.mjs [--json] [--only id,id] [--quick] [--profile] [--diagnose] [--list]
//
//   --json     also write bench/results.json (keyed by figure id)
//   --only     measure only these figures (ids as in the table)
//   --quick    smaller samples, for iterating (not for published numbers)
//   --profile  write V8 CPU profiles of the processes under test to bench/profiles/
//   --diagnose also run the diagnostic variants some figures have (they explain a figure; they
//              never change it), e.g. main_block with every commit fsynced on the loop, api_vs_bare
//              with the guard alone behind bare node:http
//   --list     print the figures and their targets, measure nothing
//
// Each module runs in a process of its own (bench/figure-child.mjs), so no figure inherits another's
// heap, JIT state, worker threads or open files. Nothing here is part of `npm test`.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable, runInfo, writeResults } from './lib/report.mjs';

/** In the order; each module measures the figures it lists. */
const MODULES = [
  'main-block.mjs',
  'signin-overhead.mjs',
  'verify-vs-raw.mjs',
  'refresh-vs-peer.mjs',
  'api-vs-bare.mjs',
  'timing-gap.mjs',
  'scale.mjs',
  'bounded.mjs',
];
const FIGURE_TIMEOUT_MS = 6 * 60_000;

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    diagnose: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
});

const modules = [];
for (const file of MODULES) {
  const { figures } = await import(`./${file}`);
  modules.push({ file, figures });
}
const allFigures = modules.flatMap((m) => m.figures);

if (values.list) {
  for (const f of allFigures) console.log(`${f.id.padEnd(22)} ${f.what}`);
  process.exit(0);
}

const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((id) => !allFigures.some((f) => f.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`bench: unknown figure id(s): ${unknown.join(', ')} (see --list)`);
  process.exit(2);
}

const info = runInfo();
const outcomes = new Map();
const started = performance.now();
for (const { file, figures } of modules) {
  const wanted = figures.filter((f) => !only || only.includes(f.id));
  if (wanted.length === 0) continue;
  const t0 = performance.now();
  process.stderr.write(`bench: ${wanted.map((f) => f.id).join(', ')} …\n`);
  const outcome = await runModule(file, { ids: wanted.map((f) => f.id), quick: values.quick, profile: values.profile, diagnose: values.diagnose });
  for (const figure of wanted) {
    if (outcome.results?.[figure.id]) outcomes.set(figure.id, { result: outcome.results[figure.id] });
    else if (outcome.skipped) outcomes.set(figure.id, { skipped: outcome.skipped });
    else outcomes.set(figure.id, { error: outcome.error ?? 'no result' });
  }
  process.stderr.write(`bench:   done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
const measured = allFigures.filter((f) => outcomes.has(f.id));
console.log(formatTable(measured, outcomes, info));
console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`);
if (values.json) {
  const file = fileURLToPath(new URL('./results.json', import.meta.url));
  writeResults(file, measured, outcomes, info);
  console.log(`wrote ${file}`);
}

/** Runs one figure module in a child process; resolves to its results, a skip reason or an error. */
function runModule(file, options) {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL('./figure-child.mjs', import.meta.url)), [file, JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: options.profile ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('./profiles/', import.meta.url))}`] : [],
    });
    let answer;
    const timer = setTimeout(() => {
      answer ??= { error: `timed out after ${FIGURE_TIMEOUT_MS / 1000} s` };
      child.kill('SIGKILL');
    }, FIGURE_TIMEOUT_MS);
    child.on('message', (message) => (answer ??= message));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(answer ?? { error: `the figure process exited (${signal ?? code}) without a result` });
    });
  });
}
