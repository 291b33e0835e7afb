// The page's entry point: login, then the view for the user's role (the operator board,
// or a therapist's or driver's own list), the one live socket and its visible state, and
// logout. Everything else lives in the modules it imports.

import { api, loadSession, saveSession, forgetSession, setUnauthorizedHandler } from './api.js';
import { LiveSocket } from './live.js';
import { Board } from './board.js';
import { Mine } from './mine.js';
import { Bell } from './bell.js';
import { h, personName } from './ui.js';
import { loadClock } from './attention.js';
import { loadWorkflow, roleLabel } from './workflow.js';
import { registerServiceWorker, noteConnection, clearSchedule } from './offline.js';
import { onLiveMessage as onAvailabilityChange } from './availability.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const conn = document.getElementById('conn');
const who = document.getElementById('who');
const logoutButton = document.getElementById('logout');

let live = null;
let view = null;
let bell = null;
let countdown = null;
let ending = false;

function showLogin(message = '', tone = 'info') {
  topbar.hidden = true;
  document.body.dataset.screen = 'login';
  const error = h('p', { class: `notice tone-${tone}`, role: tone === 'bad' ? 'alert' : 'status', hidden: !message }, message);
  const user = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-big' }, 'Log in');
  const form = h(
    'form',
    { class: 'login', id: 'login-form' },
    h('div', { class: 'login-brand' }, h('img', { src: '/icon.svg', alt: '', width: 48, height: 48 }), h('h1', {}, 'Royal Care')),
    h('p', { class: 'muted' }, 'Log in with your staff account.'),
    error,
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Username or email'), user),
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Password'), pass),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!user.value.trim() || !pass.value) {
      error.textContent = 'Enter your username and password.';
      error.className = 'notice tone-bad';
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      const r = await api('POST', '/api/auth/login/', { username: user.value.trim(), password: pass.value }, { token: '' });
      saveSession({ token: r.token, expiry: r.expiry, user: r.user });
      start(loadSession());
    } catch (err) {
      error.textContent = err.status === 401 ? 'That username and password do not match an active account. Check them and try again.' : err.message;
      error.className = 'notice tone-bad';
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = 'Log in';
      pass.select();
    }
  });
  main.replaceChildren(form);
  user.focus();
}

// Shows the user's view: first the server's workflow table (statuses, actions, their
// forms; fetched once), then the board or own list, then the live socket.
async function start(session) {
  ending = false;
  const me = session.user;
  topbar.hidden = false;
  document.body.dataset.screen = me.role;
  who.replaceChildren(h('strong', {}, personName(me)));
  try {
    // The clinic's zone and clock with it, so the board opens on the clinic's today.
    await Promise.all([loadWorkflow(), loadClock()]);
  } catch (err) {
    if (ending || loadSession()?.token !== session.token) return;
    const retry = h('button', { type: 'button', class: 'btn', onclick: () => start(session) }, 'Try again');
    main.replaceChildren(h('p', { class: 'notice tone-bad', role: 'alert' }, err.message, ' ', retry));
    return;
  }
  // Logged out (or in as someone else) while it loaded.
  if (ending || live || loadSession()?.token !== session.token) return;
  who.replaceChildren(h('strong', {}, personName(me)), ' ', h('span', { class: 'role' }, roleLabel(me.role)));
  view = me.role === 'operator' ? new Board(main, me) : new Mine(main, me);
  view.mount();
  bell = new Bell(document.getElementById('bell'));
  bell.start();
  live = new LiveSocket({
    token: session.token,
    onMessage: (msg) => {
      onAvailabilityChange(msg);
      if (bell?.onLive(msg)) return;
      if (msg.type === 'initial_data' && msg.resync) bell?.start();
      if (msg.type === 'error') return;
      view?.onLive(msg);
    },
    onState: showConn,
    onAuthLost: () => end('Your session has ended (logged out, expired, or the account was changed). Please log in again.', 'bad'),
  });
  live.start();
}

// Shows the socket's state in words, with a countdown while waiting to retry.
function showConn({ state, attempt, retryAt }) {
  clearInterval(countdown);
  noteConnection(state);
  conn.dataset.state = state;
  if (retryAt) conn.dataset.retryAt = String(retryAt);
  else delete conn.dataset.retryAt;
  const text = conn.querySelector('.conn-text');
  const waitText = () => {
    const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    return s > 0 ? `Connection lost · retrying in ${s}s` : 'Connection lost · retrying…';
  };
  const texts = {
    idle: 'Not connected',
    connecting: 'Connecting…',
    reconnecting: `Reconnecting… (try ${attempt + 1})`,
    live: 'Live',
    offline: 'Offline',
    closed: 'Not connected',
  };
  if (state === 'waiting') {
    text.textContent = waitText();
    countdown = setInterval(() => (text.textContent = waitText()), 1000);
  } else {
    text.textContent = texts[state] || state;
  }
  conn.title = state === 'live' ? 'Changes appear here as they happen.' : 'Changes will appear when the connection is back. Click to retry now.';
}

conn.addEventListener('click', () => live?.reconnectNow('clicked'));

// Ends the session on this tab: socket closed, token forgotten, login shown.
function end(message, tone) {
  if (ending) return;
  ending = true;
  live?.stop();
  live = null;
  view = null;
  bell?.stop();
  bell = null;
  clearInterval(countdown);
  forgetSession();
  // The saved schedule is this user's: never shown to whoever logs in next.
  clearSchedule();
  document.querySelectorAll('dialog').forEach((d) => d.remove());
  showLogin(message, tone);
}

async function logout() {
  const token = loadSession()?.token;
  end('You are logged out.', 'info');
  if (token) {
    try {
      await api('POST', '/api/auth/logout/', undefined, { token });
    } catch {
      // The token is forgotten here either way; it expires on the server by itself.
    }
  }
}

logoutButton.addEventListener('click', logout);
setUnauthorizedHandler(() => end('Your session has ended. Please log in again.', 'bad'));

// Another tab logged out (or in as someone else): follow it.
window.addEventListener('storage', (e) => {
  if (e.key !== 'royal-care.session') return;
  const s = loadSession();
  if (!s) end('You logged out in another tab.', 'info');
  else if (!live || s.token !== live.token) {
    end('', 'info');
    start(s);
  }
});

registerServiceWorker();
const session = loadSession();
if (session) start(session);
else showLogin();
