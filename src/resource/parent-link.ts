import type { FromResourceService } from '../contracts.js';

/** How often the service checks that the process that started it is still its parent. */
const PARENT_CHECK_MS = 1000;

/** The resource service's line to the process that started it and hosts the engine. */
export interface ParentLink {
  /**
   * Sends a message; resolves once it is handed to the OS, so the process may exit after it. Never
   * rejects: once the parent is gone, messages are dropped (onGone reports that).
   */
  send(message: FromResourceService): Promise<void>;
  /** Every message the parent sends, unchecked (see messages.ts). */
  onMessage(handler: (message: unknown) => void): void;
  /** Called once when the parent has gone: the link closed, or the process was given a new parent. */
  onGone(handler: () => void): void;
}

/**
 * Electron's utilityProcess port. It is a property of `process` there, not an export of 'electron',
 * so it is found at run time and src/ never imports electron.
 */
interface ElectronParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

/**
 * The link this process was started with: Electron's utilityProcess port, else Node's child-process
 * IPC channel; undefined when it has neither (it was not started as a service).
 */
export function connectToParent(): ParentLink | undefined {
  const port = (process as { parentPort?: ElectronParentPort | null }).parentPort;
  if (port) return electronLink(port);
  if (process.send && process.connected) return nodeIpcLink();
  return undefined;
}

function electronLink(port: ElectronParentPort): ParentLink {
  return {
    send: async (message) => {
      try {
        port.postMessage(message);
      } catch {
        // A port whose parent has gone may throw; the parent check reports that.
      }
    },
    onMessage: (handler) => port.on('message', (event) => handler(event.data)),
    // The port has no close event (Electron ends utility processes when the app quits): the
    // parent check is what notices a main process that was killed.
    onGone: (handler) => watchParent(handler),
  };
}

function nodeIpcLink(): ParentLink {
  return {
    send: (message) =>
      new Promise((resolve) => {
        if (!process.connected) return resolve();
        // The callback also takes the error of a channel that just closed, which 'disconnect' reports.
        process.send!(message, undefined, undefined, () => resolve());
      }),
    onMessage: (handler) => process.on('message', handler),
    onGone: (handler) => {
      let told = false;
      const once = () => {
        if (told) return;
        told = true;
        handler();
      };
      // The channel closes when the parent exits, however it ends (SIGKILL included).
      process.once('disconnect', once);
      watchParent(once);
    },
  };
}

/**
 * A belt for the link's own signal: a process whose parent died is handed to another (init, a
 * subreaper), so a changed `process.ppid` means the parent is gone. (On Windows the recorded parent
 * id does not change; there the link's close is what counts.)
 */
function watchParent(handler: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    handler();
  }, PARENT_CHECK_MS);
  // It must never be what keeps the process alive.
  timer.unref();
}
