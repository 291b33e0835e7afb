// The REST side: the stored session (token, expiry, user) and one `api()` call that
// sends the token, parses JSON, and turns every failure into an ApiError whose message is
// one plain sentence a person can act on.

const KEY = 'royal-care.session';

export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (!s || typeof s.token !== 'string' || !s.user) return null;
    if (s.expiry && Date.parse(s.expiry) <= Date.now()) {
      forgetSession();
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function saveSession(s) {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function forgetSession() {
  localStorage.removeItem(KEY);
}

// What any request (a write above all) answers while the browser is offline. The request
// is still tried: a server on this very computer may answer.
export const OFFLINE = 'You are offline; try again when the connection is back.';

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.code = body?.code || '';
    this.fields = body?.fields || null;
    this.body = body || {};
  }
}

// Called when the server says the token is no longer good (401): the app shows the login.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body, { token, ifMatch } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token ?? loadSession()?.token;
  if (t) headers.Authorization = `Token ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch !== undefined) headers['If-Match'] = String(ifMatch);
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    // The browser says there is no network: say so, rather than blame the server.
    if (navigator.onLine === false) throw new ApiError(0, null, OFFLINE);
    throw new ApiError(0, null, 'The server cannot be reached. Check the network (Wi-Fi or cable) and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return data;
  if (res.status === 401 && t && !path.startsWith('/api/auth/login/')) onUnauthorized();
  throw new ApiError(res.status, data, explain(res.status, data));
}

// The sentence shown for an error answer. The server's `detail` is already written for
// people; conflicts get a fuller explanation because they need a decision.
export function explain(status, body) {
  const detail = body?.detail || '';
  if (status === 409 && body?.code === 'CONFLICT') {
    // The server's sentence names who is busy and when, and says what to do.
    return `Double booking: ${detail || 'the therapist or driver already has an appointment at that time; choose another time or another person.'}`;
  }
  if (status === 409 && body?.code === 'STALE') {
    return 'Someone else changed this appointment while you were looking at it. The screen now shows their version; check it and make your change again if it is still needed.';
  }
  if (status === 409) {
    return detail || 'This step is not possible in the appointment\'s current state; the screen shows what can be done now.';
  }
  if (status === 403) return detail || 'Your role may not do this.';
  if (status === 429) return detail || 'Too many attempts; wait a moment and try again.';
  if (status >= 500) return 'The server had a problem with this request. Try again; if it keeps happening, tell the clinic\'s IT helper.';
  if (detail) return detail;
  return `The server refused the request (HTTP ${status}).`;
}

// Lists come paginated ({results: [...]}) or bare; this reads every page of up to 200.
export async function listAll(path) {
  const sep = path.includes('?') ? '&' : '?';
  let page = 1;
  const out = [];
  for (;;) {
    const data = await api('GET', `${path}${sep}page_size=200&page=${page}`);
    if (Array.isArray(data)) return data;
    out.push(...(data?.results || []));
    if (!data?.has_next || page >= 50) return out;
    page += 1;
  }
}
