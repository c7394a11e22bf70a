// The page's service worker: keeps the page's own files so that it reloads without the network.
// Each file is fetched from the network first (a new wgvae serve or a new deploy replaces the
// old files at once) and from this cache only when that fails. The API is never cached, and
// nothing but the page's own origin is touched.
const CACHE = 'wgvae-page';
const FILES = ['./', 'app.js', 'style.css', 'pkg/wgvae_web.js', 'pkg/wgvae_web_bg.wasm'];

self.addEventListener('install', (event) => {
  // a server without the browser build lacks pkg/: keep what there is
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.allSettled(FILES.map((f) => cache.add(f)))));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.includes('/api/')) return;
  // a page opened as /?x or /index.html is the page kept as ./
  const kept = () =>
    caches
      .match(event.request, { ignoreSearch: true })
      .then((hit) => hit || (event.request.mode === 'navigate' ? caches.match('./') : undefined))
      .then((hit) => hit || Response.error());
  event.respondWith(
    fetch(event.request)
      .then((reply) => {
        if (reply.ok) {
          const copy = reply.clone();
          // kept before the worker may stop, and a full cache is no error of the page's
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(event.request, copy)).catch(() => {}));
        }
        return reply;
      })
      .catch(kept),
  );
});
