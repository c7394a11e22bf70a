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
  event.respondWith(
    fetch(event.request)
      .then((reply) => {
        if (reply.ok) {
          const copy = reply.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return reply;
      })
      .catch(() => caches.match(event.request).then((kept) => kept || Response.error())),
  );
});
