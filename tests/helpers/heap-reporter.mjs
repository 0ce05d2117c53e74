// Loaded into a server process by a memory test (node --import): answers the parent's "heap"
// message with the heap in use after a full collection. Test-only; nothing else listens.
if (process.send) {
  process.channel?.unref();
  process.on('message', (message) => {
    if (message !== 'heap') return;
    globalThis.gc?.();
    process.send?.({ heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss });
  });
}
