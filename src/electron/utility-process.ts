import { SERVICE_ENTRY, serviceArgs, type ServiceConfig } from '../resource/service-config.js';
import type { ServiceProcess } from '../resource/service-instance.js';

/** What the launcher needs of one process started by Electron's `utilityProcess.fork`. */
export interface UtilityChild {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/** Electron's `utilityProcess` module, as far as the launcher uses it. */
export interface UtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: { serviceName?: string; stdio?: Array<'pipe' | 'ignore' | 'inherit'> }): UtilityChild;
}

/**
 * Starts the resource service as an Electron utility process, for superviseResourceService
 * (`superviseResourceService(engine, options, utilityProcessLauncher(utilityProcess))`). The
 * service answers over `process.parentPort` there; its stdout is dropped and its stderr is the
 * app's. Call it after the app is ready (utilityProcess.fork cannot be used before).
 */
export function utilityProcessLauncher(utilityProcess: UtilityProcessModule): (config: ServiceConfig) => ServiceProcess {
  return (config) => {
    const child = utilityProcess.fork(SERVICE_ENTRY, serviceArgs(config), {
      serviceName: 'Gatehouse resource service',
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    let ended = false;
    child.once('exit', () => (ended = true));
    return {
      send: (message) => {
        // A process that has just ended reports it by its exit event; the message is not needed then.
        if (!ended) child.postMessage(message);
      },
      onMessage: (handler) => child.on('message', handler),
      // Electron emits 'exit' for every end, a failed start included.
      onExit: (handler) => child.once('exit', (code) => handler(`exited with code ${code}`)),
      kill: () => void child.kill(),
    };
  };
}
