import { fork } from 'node:child_process';
import { SERVICE_ENTRY, serviceArgs, type ServiceConfig } from './service-config.js';
import type { ServiceProcess } from './service-instance.js';

/**
 * Starts the resource service as a Node child process with an IPC channel (how `gatehouse serve`
 * runs it; the app uses Electron's utilityProcess instead). It writes nothing on stdout, which belongs
 * to its parent's ready line; its stderr is the parent's.
 */
export function forkService(config: ServiceConfig): ServiceProcess {
  const child = fork(SERVICE_ENTRY, serviceArgs(config), {
    execArgv: withoutInspector(process.execArgv),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return {
    send: (message) => {
      // A channel that just closed reports it by the exit that follows; the error is not news.
      if (child.connected) child.send(message, () => undefined);
    },
    onMessage: (handler) => child.on('message', handler),
    onExit: (handler) => {
      let told = false;
      const tell = (how: string) => {
        if (told) return;
        told = true;
        handler(how);
      };
      child.once('exit', (code, signal) => tell(signal ? `was ended by ${signal}` : `exited with code ${code}`));
      // A process that could not be spawned at all emits 'error' and may never emit 'exit'.
      child.on('error', (error) => {
        if (child.pid === undefined) tell(`could not be started (${error.message})`);
      });
    },
    kill: () => void child.kill('SIGKILL'),
  };
}

/**
 * The parent's Node options, but for the inspector's: a child listening on the parent's debugger
 * port would fail to start, or be debugged by surprise.
 */
function withoutInspector(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (!/^--(inspect|debug-port)/.test(arg)) kept.push(arg);
    // `--inspect-port 9229` (no `=`) takes the next word as its value.
    else if (/^--(inspect-port|debug-port)$/.test(arg)) i++;
  }
  return kept;
}
