// Shared pieces of the browser tests: start the real `royal-care` binary on a free port
// with a fresh database, add users through its CLI, call its REST API, launch Debian's
// headless Chromium, and save screenshots. Nothing here mocks the server.

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = join(HERE, 'screenshots');
export const PASSWORD = 'correct-horse-1';
export const CHROMIUM = process.env.ROYAL_CARE_CHROMIUM || '/usr/bin/chromium';

const BIN = process.env.ROYAL_CARE_BIN;

const TEST_ENV = {
  ...process.env,
  ROYAL_CARE_PASSWORD_ITERATIONS: '1000',
  ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS: '1',
  RUST_LOG: 'info',
  RUST_LOG_STYLE: 'never',
};
delete TEST_ENV.ROYAL_CARE_DB;

// The usual team's steps (`addTeam`) from a new booking to awaiting_payment: [who, action].
export const UNTIL_PAYMENT = [
  ['tina', 'therapist_confirm'],
  ['dan', 'driver_confirm'],
  ['olga', 'start_appointment'],
  ['dan', 'start_journey'],
  ['dan', 'arrive_at_location'],
  ['dan', 'drop_off_therapist'],
  ['tina', 'start_session'],
  ['tina', 'mark_awaiting_payment'],
];

export class Server {
  // `env`: extra settings for this server (e.g. a short pending timeout).
  static async start({ env = {} } = {}) {
    if (!BIN || !existsSync(BIN)) {
      throw new Error('ROYAL_CARE_BIN is not set to the royal-care binary; run these tests with `cargo test --test browser`.');
    }
    const dir = mkdtempSync(join(tmpdir(), 'royal-care-browser-'));
    const db = join(dir, 'royal-care.db');
    const proc = spawn(BIN, ['--db', db, 'serve', '--addr', '127.0.0.1:0'], { env: { ...TEST_ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const srv = new Server(proc, dir, db);
    srv.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 20 s; log:\n${srv.log}`)), 20000);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk) => {
        srv.log += chunk;
        const m = srv.log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.on('exit', (code) => reject(new Error(`server exited with ${code}; log:\n${srv.log}`)));
    });
    return srv;
  }

  constructor(proc, dir, db) {
    this.proc = proc;
    this.dir = dir;
    this.db = db;
    this.log = '';
  }

  // Adds a staff account the way an administrator does: the CLI, password on stdin.
  addUser(username, role, firstName, lastName = '') {
    const args = ['--db', this.db, 'user', 'add', '--username', username, '--role', role, '--first-name', firstName, '--email', `${username}@example.org`];
    if (lastName) args.push('--last-name', lastName);
    const r = spawnSync(BIN, args, { env: TEST_ENV, input: `${PASSWORD}\n`, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`user add ${username} failed: ${r.stdout} ${r.stderr}`);
  }

  // The usual team: operator Olga Reyes, therapist Tina Cruz, driver Dan Lopez.
  addTeam() {
    this.addUser('olga', 'operator', 'Olga', 'Reyes');
    this.addUser('tina', 'therapist', 'Tina', 'Cruz');
    this.addUser('dan', 'driver', 'Dan', 'Lopez');
  }

  async call(method, path, token, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Token ${token}`;
    const res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, body: json, headers: res.headers };
  }

  async login(username) {
    const r = await this.call('POST', '/api/auth/login/', null, { username, password: PASSWORD });
    if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // One workflow step through the API, as `token`'s user; throws unless it is taken.
  async step(token, id, action, body = {}) {
    const r = await this.call('POST', `/api/scheduling/appointments/${id}/${action}/`, token, body);
    if (r.status !== 200) throw new Error(`${action}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // Logs `usernames` in (the first an operator): their tokens, and every staff member's
  // id by username.
  async signIn(usernames) {
    const tokens = {};
    for (const u of usernames) tokens[u] = (await this.login(u)).token;
    return { tokens, ids: await this.staffIds(tokens[usernames[0]]) };
  }

  // Every staff member's id by username, as the operator with `token` lists them.
  async staffIds(token) {
    const staff = (await this.call('GET', '/api/scheduling/staff/?page_size=200', token)).body;
    return Object.fromEntries(staff.results.map((u) => [u.username, u.id]));
  }

  async stop() {
    await stopAndRemove(this.proc, this.dir);
  }
}

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; install it with \`apt-get install -y chromium\`.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// A fresh browser context (its own storage, so its own session) with a page that fails
// the test on any script error or CSP violation.
export async function newPage(browser, { phone = false } = {}) {
  const context = await browser.newContext(phone ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  return { context, page };
}

export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Only `main` scrolls (the toasts have their own strip below it): let the page grow for
  // the picture, so it shows all of main, then put it back.
  const grown = await page.evaluate(() => {
    const main = document.querySelector('main');
    if (!main || main.scrollHeight <= main.clientHeight) return false;
    document.body.style.height = 'auto';
    document.body.style.overflow = 'visible';
    main.style.overflow = 'visible';
    return true;
  });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (grown) {
    await page.evaluate(() => {
      document.body.style.height = '';
      document.body.style.overflow = '';
      document.querySelector('main').style.overflow = '';
    });
  }
}

// Logs in through the page; `via` is the server or a Cable in front of it.
export async function logIn(page, via, username) {
  await page.goto(via.url + '/');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#topbar:not([hidden])');
}

// The page's live sockets as Playwright sees them, with the frames each received.
export function watchSockets(page) {
  const sockets = [];
  page.on('websocket', (ws) => {
    const waiting = [];
    const entry = {
      ws,
      frames: [],
      closed: false,
      // The first frame of `type` this socket received, waiting for it if need be.
      frame(type, timeout = 5000) {
        const seen = entry.frames.find((f) => f.type === type);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${type} frame within ${timeout} ms`)), timeout);
          waiting.push({ type, resolve: (f) => (clearTimeout(timer), resolve(f)) });
        });
      },
    };
    ws.on('framereceived', (f) => {
      let msg;
      try {
        msg = JSON.parse(f.payload);
      } catch {
        return; // not JSON
      }
      entry.frames.push(msg);
      for (const w of waiting.splice(0)) {
        if (w.type === msg.type) w.resolve(msg);
        else waiting.push(w);
      }
    });
    ws.on('close', () => (entry.closed = true));
    sockets.push(entry);
  });
  return sockets;
}

export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// A TCP relay in front of the server whose cable can be pulled: `cut()` drops every
// connection through it (the browser sees its socket die, as with a lost Wi-Fi) and
// refuses new ones until `restore()`. The page under test is loaded through it, so what
// is exercised is the page's real reconnect code against a real network failure.
export class Cable {
  static async start(serverUrl) {
    const { hostname, port } = new URL(serverUrl);
    const cable = new Cable();
    cable.server = net.createServer((client) => {
      if (cable.isCut) {
        client.destroy();
        return;
      }
      const upstream = net.connect(Number(port), hostname);
      cable.pairs.add(client);
      cable.pairs.add(upstream);
      const end = () => {
        client.destroy();
        upstream.destroy();
        cable.pairs.delete(client);
        cable.pairs.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((resolve) => cable.server.listen(0, '127.0.0.1', resolve));
    cable.url = `http://127.0.0.1:${cable.server.address().port}`;
    return cable;
  }

  constructor() {
    this.pairs = new Set();
    this.isCut = false;
  }

  cut() {
    this.isCut = true;
    for (const s of this.pairs) s.destroy();
    this.pairs.clear();
  }

  restore() {
    this.isCut = false;
  }

  async close() {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// The real Caddy (Debian's package) with `tls internal` in front of a server, as
// deploy/Caddyfile (read from there) puts it in front of the clinic's: https on a free port of 127.0.0.1,
// admin API off, its certificates in a temp dir. `url` is what a phone would open.
export class Caddy {
  static async start(serverUrl) {
    if (spawnSync('caddy', ['version']).error) {
      throw new Error('Caddy is not installed; install it with `sudo apt-get install -y caddy`.');
    }
    const dir = mkdtempSync(join(tmpdir(), 'royal-care-caddy-'));
    const [port, httpPort] = [await freePort(), await freePort()];
    const upstream = new URL(serverUrl).host;
    // deploy/Caddyfile as shipped, with test ports, storage and `tls internal` (as tests/proxy.rs).
    let conf = readFileSync(join(HERE, '../../deploy/Caddyfile'), 'utf8');
    for (const [from, to] of [
      ['\tadmin localhost:2019\n', `\tadmin off\n\tskip_install_trust\n\thttp_port ${httpPort}\n\thttps_port ${port}\n\tstorage file_system {\n\t\troot ${dir}/storage\n\t}\n`],
      ['care.example.ph {\n', `localhost:${port} {\n\tbind 127.0.0.1\n`],
      ['\t# tls internal\n', '\ttls internal\n'],
      ['reverse_proxy 127.0.0.1:8000 {', `reverse_proxy ${upstream} {`],
    ]) {
      if (!conf.includes(from)) throw new Error(`deploy/Caddyfile no longer has ${JSON.stringify(from)}`);
      conf = conf.replace(from, to);
    }
    writeFileSync(join(dir, 'Caddyfile'), conf);
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
    const caddy = new Caddy();
    caddy.dir = dir;
    caddy.url = `https://localhost:${port}`;
    caddy.proc = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], { env, stdio: 'ignore' });
    // Ready when /health/ answers through it over TLS checked against Caddy's own root.
    const root = join(dir, 'storage/pki/authorities/local/root.crt');
    const until = Date.now() + 30000;
    for (;;) {
      if (existsSync(root) && (await healthOver(caddy.url, readFileSync(root)))) return caddy;
      if (Date.now() > until || caddy.proc.exitCode !== null) throw new Error(`Caddy did not serve ${caddy.url} within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop() {
    await stopAndRemove(this.proc, this.dir);
  }
}

// Ends a child process with SIGTERM (if it still runs), waits for it, removes its folder.
async function stopAndRemove(proc, dir) {
  if (proc.exitCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function healthOver(url, ca) {
  return new Promise((resolve) => {
    const req = https.get(`${url}/health/`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}
