import type { CallerContext } from '../contracts.js';
import type { AppHandlers } from './app-handlers.js';
import { ipcFailure } from './guarded-call.js';
import { IPC_CALL_NAMES, ipcChannel, SESSION_CHANGED_CHANNEL } from './ipc-calls.js';

// Structural types only: src/ never imports 'electron'; the real ipcMain, events and webContents fit these.

/** What callerOf reads of Electron's WebFrameMain. */
export interface FrameLike {
  readonly origin: string;
  readonly parent: FrameLike | null;
  readonly detached?: boolean;
}

/** What callerOf reads of Electron's IpcMainInvokeEvent (`senderFrame` is null once the frame is gone). */
export interface IpcInvokeEventLike {
  readonly senderFrame: FrameLike | null;
}

/** What registerIpcHandlers needs of Electron's ipcMain. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** What forwardSessionChanges needs of Electron's WebContents. */
export interface SessionChangeTarget {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/**
 * The caller of an invoke: the sender frame's origin, and whether it is its window's top frame.
 * Null when the frame is gone (navigated away, destroyed): such a call is refused.
 */
export function callerOf(event: IpcInvokeEventLike): CallerContext | null {
  try {
    const frame = event.senderFrame;
    if (!frame || frame.detached === true) return null;
    return { origin: frame.origin, mainFrame: frame.parent === null };
  } catch {
    // Electron throws when a disposed frame's properties are read.
    return null;
  }
}

/** Registers one `gatehouse:<call>` handler per call; returns a function that removes them all. */
export function registerIpcHandlers(ipcMain: IpcMainLike, handlers: AppHandlers): () => void {
  for (const name of IPC_CALL_NAMES) {
    ipcMain.handle(ipcChannel(name), (event, ...args) => {
      const caller = callerOf(event);
      if (!caller) return ipcFailure('forbidden', 'The calling frame is gone.');
      if (args.length > 1) return ipcFailure('invalid_argument', `${name} takes at most one argument.`);
      return handlers.handle(name, caller, args[0]);
    });
  }
  return () => {
    for (const name of IPC_CALL_NAMES) ipcMain.removeHandler(ipcChannel(name));
  };
}

/** Sends each new SessionView to a window's renderer until it is destroyed; returns a stop function. */
export function forwardSessionChanges(contents: SessionChangeTarget, handlers: AppHandlers): () => void {
  const stop = handlers.onSessionChanged((session) => {
    if (contents.isDestroyed()) stop();
    else contents.send(SESSION_CHANGED_CHANNEL, session);
  });
  return stop;
}
