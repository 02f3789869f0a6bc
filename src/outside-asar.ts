import { fileURLToPath } from 'node:url';

/**
 * The path to give a loader that works outside Electron's asar support (a worker thread's entry,
 * the utility process's): for a module inside a packaged app's `app.asar`, the copy electron-builder
 * unpacks beside it (`app.asar.unpacked`, see asarUnpack in electron-builder.yml); anywhere else,
 * the module's own path.
 */
export function outsideAsar(url: URL): string {
  return fileURLToPath(url).replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}
