#!/usr/bin/env node
// `npm start` (after the build): runs the app in Electron, on the package root, whose "main" is
// dist-app/main/main.js. Arguments are passed on to the app, except --download-electron, which
// first fetches a missing Electron binary (the only time this script touches the network).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ELECTRON_INSTALL_SCRIPT, ELECTRON_VERSION, electronBinary } from './electron-binary.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist-app/main/main.js', import.meta.url));
const DOWNLOAD = '--download-electron';

const args = process.argv.slice(2);
const appArgs = args.filter((arg) => arg !== DOWNLOAD);

function refuse(line) {
  process.stderr.write(`gatehouse: ${line}\n`);
  process.exit(1);
}

if (!existsSync(MAIN)) refuse(`${MAIN} is missing; run "npm run build" first (npm start does).`);

let found = electronBinary();
if (found.missing && args.includes(DOWNLOAD)) {
  process.stderr.write(`gatehouse: downloading Electron ${ELECTRON_VERSION}…\n`);
  const result = spawnSync(process.execPath, [ELECTRON_INSTALL_SCRIPT], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0) {
    const reason = result.error?.message ?? result.stderr.trim().split('\n')[0] ?? `exit code ${result.status}`;
    refuse(`the Electron ${ELECTRON_VERSION} download failed: ${reason}`);
  }
  found = electronBinary();
}
if (found.missing) {
  refuse(
    `cannot start the app: the Electron ${ELECTRON_VERSION} binary is missing (${found.missing}); ` +
      `run "npm start -- ${DOWNLOAD}" to download it (needs the network), or set ELECTRON_OVERRIDE_DIST_PATH to an Electron directory.`,
  );
}

const child = spawn(found.path, [ROOT, ...appArgs], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => refuse(`Electron could not be started: ${error.message}`));
// Ended by a signal (no code): a failure.
child.on('exit', (code) => process.exit(code ?? 1));
