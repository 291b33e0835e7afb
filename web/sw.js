// The service worker: keeps the app shell (the page, its stylesheet, icon, manifest,
// every script, and the public workflow table) so the app opens without a network.
// Network first: online, every file comes from the server as before (a new binary never
// runs with old scripts); only when the network fails, or hangs for SLOW_MS with a copy
// at hand, does the kept copy answer. Nothing that needs a login is ever kept here: API
// answers other than the public workflow table pass straight through, and no request
// with an Authorization header is stored. The schedule shown offline is the page's own
// saved copy (web/js/offline.js), which logout deletes.

// Filled in by the server (src/web/mod.rs) with every file it serves and a hash of
// them all, so a new binary is a new worker that drops the old copies.
const SHELL = [];
const VERSION = 'dev';

const CACHE = `royal-care-shell-${VERSION}`;
const PUBLIC_API = ['/api/scheduling/workflow/'];
const SLOW_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL.concat(PUBLIC_API)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('royal-care-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function kept(request) {
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return false;
  if (request.headers.has('Authorization')) return false;
  if (url.pathname.startsWith('/api/')) return PUBLIC_API.includes(url.pathname);
  return !url.pathname.startsWith('/ws/');
}

// The cache key: the path only (`/index.html` is `/`).
function key(request) {
  const url = new URL(request.url);
  return url.pathname === '/index.html' ? '/' : url.pathname;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const copy = await cache.match(key(request));
  const fresh = fetch(request).then(async (res) => {
    if (res.ok) await cache.put(key(request), res.clone());
    return res;
  });
  if (!copy) return fresh;
  fresh.catch(() => {}); // a late failure after the copy answered is nobody's business
  let timer;
  const slow = new Promise((resolve) => (timer = setTimeout(() => resolve(copy), SLOW_MS)));
  try {
    return await Promise.race([fresh, slow]);
  } catch {
    return copy;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener('fetch', (event) => {
  if (kept(event.request)) event.respondWith(networkFirst(event.request));
});
