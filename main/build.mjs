// Bundles what the app loads besides dist/ and dist-app/main/ (run after tsc by `npm run build`):
//   dist-app/preload.cjs              the sandboxed preload (CommonJS: a sandboxed preload cannot be an ES module)
//   dist-app/renderer/                the UI: index.html, main.js (+ lazily loaded chunks), styles.css
//   dist-app/test/preload-api.js      the same preload API over a Playwright test's bindings (IIFE)
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-app');
// Electron 45 ships Chromium 140.
const target = 'chrome140';

// dist-app/main/ is tsc's (emitted just before): only this script's outputs are replaced.
await Promise.all(['preload.cjs', 'renderer', 'test'].map((name) => rm(join(out, name), { recursive: true, force: true })));
await Promise.all([
  build({
    entryPoints: [join(root, 'main/preload.ts')],
    outfile: join(out, 'preload.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'browser',
    external: ['electron'],
    target,
    logLevel: 'warning',
  }),
  build({
    entryPoints: [join(root, 'renderer/main.ts'), join(root, 'renderer/styles.css')],
    outdir: join(out, 'renderer'),
    bundle: true,
    format: 'esm',
    splitting: true,
    platform: 'browser',
    target,
    minify: true,
    sourcemap: 'linked',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  }),
  build({
    entryPoints: [join(root, 'test/e2e/preload-bridge.ts')],
    outfile: join(out, 'test/preload-api.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target,
    logLevel: 'warning',
  }),
]);
await mkdir(join(out, 'renderer'), { recursive: true });
await copyFile(join(root, 'renderer/index.html'), join(out, 'renderer/index.html'));
