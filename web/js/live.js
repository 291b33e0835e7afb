// The one live socket of this tab (SPEC §6). It connects with the token as a subprotocol
// (`bearer, <token>`) so the token stays out of URLs and logs, remembers the last `seq` and
// the stream's `epoch` to resume with `?since=&epoch=`, and reconnects after any loss with
// exponential backoff and full jitter, without an attempt cap, for as long as the user is
// logged in. It reconnects at once when the tab becomes visible or the network comes back
// (then always with a new socket), shows "offline" as soon as the browser says so, and
// hands a 4001 close ("log in again") to the app instead of retrying.

const PATH = '/ws/scheduling/appointments/';
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
// The server pings every 25 s, but a page cannot see pings: our own heartbeat finds a
// socket that died silently (a pulled cable, a sleeping laptop) and replaces it.
const HEARTBEAT_EVERY_MS = 20000;
const HEARTBEAT_TIMEOUT_MS = 10000;
const STABLE_AFTER_MS = 5000;

export const CLOSE_AUTH = 4001;
export const CLOSE_TOO_SLOW = 4008;

export class LiveSocket {
  // onMessage(msg): every server message, in order, duplicates dropped.
  // onState({state, attempt, retryAt}): for the connection indicator.
  // onAuthLost(reason): the server closed with 4001.
  constructor({ token, onMessage, onState, onAuthLost }) {
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onAuthLost = onAuthLost;
    this.ws = null;
    this.seq = null;
    this.epoch = null;
    this.attempt = 0;
    this.timer = null;
    this.heartbeat = null;
    this.heartbeatDeadline = null;
    this.stopped = false;
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.reconnectNow('tab visible');
    };
    // Network back: the old socket may look open but be dead (the phone changed networks,
    // its connection is gone), so a new one is opened at once, resuming with `since`,
    // instead of waiting for a heartbeat to time out.
    this.onOnline = () => this.reconnectNow('network back', { fresh: true });
    // Shown at once. Nothing is closed: a server on this computer may still answer, and
    // then the socket goes on delivering (the heartbeat tests it).
    this.onOffline = () => {
      this.setState('offline');
      this.sendHeartbeat();
    };
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  start() {
    this.connect();
  }

  // Ends the socket for good (logout, or 4001): no reconnect, listeners removed.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stableTimer);
    this.stopHeartbeat();
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onopen = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000, 'logout');
    }
    this.setState('closed');
  }

  isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let url = `${scheme}://${location.host}${PATH}`;
    if (this.seq !== null && this.epoch !== null) {
      url += `?since=${encodeURIComponent(this.seq)}&epoch=${encodeURIComponent(this.epoch)}`;
    }
    return url;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = null;
    // One socket per tab: drop any previous one before opening the next.
    this.drop();
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url(), ['bearer', this.token]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      // A resumed socket gets no initial_data (only what it missed), so "open" is live.
      // The backoff starts over only once the socket has proved stable, so a server that
      // accepts and at once closes (full, restarting) still sees growing delays.
      this.setState('live');
      clearTimeout(this.stableTimer);
      this.stableTimer = setTimeout(() => (this.attempt = 0), STABLE_AFTER_MS);
      this.startHeartbeat();
    };
    ws.onmessage = (ev) => this.handle(ev.data);
    ws.onerror = () => {}; // onclose follows and decides
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      clearTimeout(this.stableTimer);
      if (this.stopped) return;
      if (ev.code === CLOSE_AUTH) {
        this.stop();
        this.onAuthLost(ev.reason || 'Your session has ended.');
        return;
      }
      // Too slow (4008): the server kept our place; come straight back with `since`.
      if (ev.code === CLOSE_TOO_SLOW && this.attempt === 0) {
        this.attempt = 1;
        this.connect();
        return;
      }
      this.scheduleReconnect();
    };
  }

  // Closes the current socket without triggering a reconnect from its close event.
  drop() {
    clearTimeout(this.stableTimer);
    if (!this.ws) return;
    const ws = this.ws;
    this.ws = null;
    ws.onclose = null;
    ws.onmessage = null;
    ws.onopen = null;
    ws.onerror = null;
    this.stopHeartbeat();
    try {
      ws.close(1000, 'reconnecting');
    } catch {
      // already closed
    }
  }

  // Full jitter: wait a random time between 0 and min(cap, base·2^attempt).
  scheduleReconnect() {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(this.attempt, 16));
    const delay = Math.floor(Math.random() * ceiling);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
    this.setState(navigator.onLine === false ? 'offline' : 'waiting', Date.now() + delay);
  }

  // Visible tab or network back: a waiting reconnect should not wait any longer.
  // `fresh`: replace even an open socket (it may be dead without knowing it).
  reconnectNow(why, { fresh = false } = {}) {
    if (this.stopped) return;
    const state = this.ws?.readyState;
    if (state === WebSocket.OPEN && !fresh) {
      // The socket may have died silently while hidden; test it now.
      this.sendHeartbeat();
      return;
    }
    if (state === WebSocket.CONNECTING && !fresh) return;
    this.lastReason = why;
    this.connect();
  }

  handle(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    this.heartbeatDeadline = null;
    // Any message proves the socket works (e.g. a heartbeat answer after a lost one),
    // though while the browser says it is offline the indicator keeps saying so.
    if (this.state !== 'live' && navigator.onLine !== false) this.setState('live');
    if (msg.type === 'initial_data') {
      this.seq = typeof msg.seq === 'number' ? msg.seq : this.seq;
      if (msg.epoch !== undefined && msg.epoch !== null) this.epoch = msg.epoch;
    } else if (typeof msg.seq === 'number') {
      // Resumed streams never repeat, but a message at or below our seq is one we have.
      if (this.seq !== null && msg.seq <= this.seq) return;
      this.seq = msg.seq;
    }
    if (msg.type === 'heartbeat_response') return;
    this.onMessage(msg);
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.sendHeartbeat(), HEARTBEAT_EVERY_MS);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeat);
    clearTimeout(this.heartbeatTimer);
    this.heartbeat = null;
    this.heartbeatDeadline = null;
  }

  sendHeartbeat() {
    if (!this.isOpen()) return;
    try {
      this.ws.send(JSON.stringify({ type: 'heartbeat', timestamp: new Date().toISOString() }));
    } catch {
      return;
    }
    const ws = this.ws;
    const deadline = Date.now() + HEARTBEAT_TIMEOUT_MS;
    this.heartbeatDeadline = deadline;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      // Nothing came back in time: the socket is dead even if the browser has not noticed.
      if (this.ws === ws && this.heartbeatDeadline === deadline) {
        this.drop();
        this.scheduleReconnect();
      }
    }, HEARTBEAT_TIMEOUT_MS);
  }

  setState(state, retryAt = null) {
    // What is shown follows the browser's word on the network: while it says offline,
    // every state but "closed" reads "offline" (the socket, if it works, still delivers).
    if (state !== 'closed' && navigator.onLine === false) state = 'offline';
    this.state = state;
    this.onState({ state, attempt: this.attempt, retryAt });
  }
}
