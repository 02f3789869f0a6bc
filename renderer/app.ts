import type { AppInfo, SessionView } from '../src/contracts.js';
import { accountScreen } from './account.js';
import { adminScreen } from './admin.js';
import { gatehouse } from './api.js';
import { h, show } from './dom.js';
import { lockScreen } from './lock.js';
import { recordsScreen } from './records-view.js';
import type { Page, Screen, Shell } from './screen.js';
import { signInScreen } from './sign-in.js';
import { strings } from './strings.js';

/** Activity is reported at most this often: enough to postpone an idle lock of minutes. */
const ACTIVITY_REPORT_INTERVAL_MS = 30_000;

type Showing = { kind: 'sign-in' } | { kind: 'lock' } | { kind: 'page'; page: Page; username: string };

/**
 * The window: a header (app name, pages, who is signed in) and one screen at a time, chosen by the
 * session. Sessions come from answers and from main's pushes alike, and both go through `apply`.
 */
export class App implements Shell {
  private session: SessionView = { state: 'signed_out' };
  private showing: Showing | undefined;
  /** The page last shown, to return to after an unlock. */
  private lastPage: Extract<Showing, { kind: 'page' }> | undefined;
  private screen: Screen | undefined;
  private readonly nav = h('nav', { 'aria-label': strings.nav.label });
  private readonly main = h('main', { id: 'main' });
  private navKey = '';
  private activityReset = () => {};

  constructor(
    readonly info: AppInfo,
    root: HTMLElement,
  ) {
    show(root, h('header', { class: 'top' }, h('p', { class: 'app-name' }, info.appName), this.nav), this.main);
    gatehouse().onSessionChanged((session) => this.apply(session));
    this.reportActivity();
  }

  apply(session: SessionView): void {
    const previous = this.session;
    this.session = session;
    if (session.state !== previous.state || (session.state !== 'signed_out' && previous.state !== 'signed_out' && session.username !== previous.username)) this.activityReset();
    if (session.state === 'signed_out') {
      if (this.showing?.kind !== 'sign-in') this.signInAgain(previous.state === 'signed_out' ? undefined : strings.signIn.sessionEnded);
      return;
    }
    if (session.state === 'locked') {
      if (this.showing?.kind !== 'lock') this.render({ kind: 'lock' }, lockScreen(this, session));
      return;
    }
    const showing = this.showing;
    if (showing?.kind === 'page' && showing.username === session.username && (showing.page !== 'admin' || session.admin)) {
      this.renderNav(session, showing.page); // a refresh: the screen stays as it is
      return;
    }
    // Unlocked: back to the page the lock covered.
    const back = showing?.kind === 'lock' && this.lastPage?.username === session.username ? this.lastPage.page : 'records';
    this.go(back === 'admin' && !session.admin ? 'records' : back);
  }

  signInAgain(notice?: string): void {
    this.session = { state: 'signed_out' };
    this.activityReset();
    this.render({ kind: 'sign-in' }, signInScreen(this, notice));
  }

  private go(page: Page): void {
    const session = this.session;
    if (session.state !== 'signed_in') return;
    const screen = page === 'records' ? recordsScreen() : page === 'account' ? accountScreen(this, session) : adminScreen(session.username);
    this.render({ kind: 'page', page, username: session.username }, screen);
  }

  private render(showing: Showing, screen: Screen): void {
    this.screen?.dispose?.();
    if (showing.kind === 'page') this.lastPage = showing;
    else if (showing.kind === 'sign-in') this.lastPage = undefined;
    this.showing = showing;
    this.screen = screen;
    this.renderNav(this.session, showing.kind === 'page' ? showing.page : undefined);
    show(this.main, screen.element);
    const heading = screen.element.querySelector('h1')?.textContent;
    document.title = heading ? `${heading} — ${this.info.appName}` : this.info.appName;
    screen.focus.focus();
  }

  /** Pages and sign-out, only while signed in (not while locked). */
  private renderNav(session: SessionView, current: Page | undefined): void {
    // Unchanged (a token refresh): keep the elements, and the focus if it is on one of them.
    const key = session.state === 'signed_in' ? JSON.stringify([session.username, session.admin, current]) : '';
    if (key === this.navKey) return;
    this.navKey = key;
    if (session.state !== 'signed_in') return show(this.nav);
    const pages: Array<[Page, string]> = [['records', strings.nav.records], ['account', strings.nav.account]];
    if (session.admin) pages.push(['admin', strings.nav.admin]);
    const signOut = h('button', { type: 'button', class: 'secondary' }, strings.nav.signOut);
    signOut.addEventListener('click', () => {
      signOut.disabled = true;
      void gatehouse()
        .signOut()
        .then(() => this.signInAgain(strings.signIn.signedOut));
    });
    show(
      this.nav,
      h(
        'ul',
        {},
        ...pages.map(([page, label]) => {
          const button = h('button', { type: 'button', class: 'nav-link', 'aria-current': page === current ? 'page' : undefined }, label);
          button.addEventListener('click', () => this.go(page));
          return h('li', {}, button);
        }),
      ),
      h('p', { class: 'who' }, strings.nav.signedInAs(session.username)),
      signOut,
    );
  }

  /**
   * Input while signed in postpones the idle lock; main hears of it at most once per interval, and
   * at the first input of each new session (the interval starts afresh with it).
   */
  private reportActivity(): void {
    let cooldown: ReturnType<typeof setTimeout> | undefined;
    this.activityReset = () => {
      clearTimeout(cooldown);
      cooldown = undefined;
    };
    const onInput = () => {
      if (cooldown !== undefined || this.session.state !== 'signed_in') return;
      cooldown = setTimeout(() => (cooldown = undefined), ACTIVITY_REPORT_INTERVAL_MS);
      void gatehouse().reportActivity();
    };
    for (const type of ['keydown', 'pointerdown', 'input', 'wheel']) document.addEventListener(type, onInput, { capture: true, passive: true });
  }
}

/** Reads the app's rules and the session, then shows the right screen. */
export async function startApp(root: HTMLElement): Promise<void> {
  const api = gatehouse();
  const [info, session] = await Promise.all([api.getAppInfo(), api.getSession()]);
  if (!info.ok) {
    show(root, h('p', { role: 'alert', class: 'error' }, strings.appUnavailable));
    return;
  }
  const app = new App(info.app, root);
  if (session.ok && session.session.state !== 'signed_out') app.apply(session.session);
  else app.signInAgain();
}
