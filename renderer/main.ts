import { startApp } from './app.js';
import { strings } from './strings.js';

const root = document.getElementById('app');
if (root) {
  startApp(root).catch(() => {
    root.textContent = strings.appUnavailable;
    root.setAttribute('role', 'alert');
  });
}
