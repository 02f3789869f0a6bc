import type { AppInfo, SessionView } from '../src/contracts.js';

export type SignedInSession = Extract<SessionView, { state: 'signed_in' | 'locked' }>;
export type Page = 'records' | 'account' | 'admin';

/** What a screen shows: its content, what gets focus when it opens, and what to stop when it closes. */
export interface Screen {
  element: HTMLElement;
  focus: HTMLElement;
  dispose?: () => void;
}

/** What screens may ask of the shell. */
export interface Shell {
  readonly info: AppInfo;
  /** Applies a session the screen got as an answer (the same as a pushed one). */
  apply(session: SessionView): void;
  /** Shows the sign-in screen afresh, with a notice (why the person is there) if there is one. */
  signInAgain(notice?: string): void;
}
