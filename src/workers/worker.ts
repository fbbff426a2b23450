// src/workers/worker.ts — the entry point of a data-path worker (src/workers/pool.ts starts it; build.sh embeds it
// in the executable as a second entry point). Like src/main.ts it loads the Reflect metadata polyfill before
// anything else (@peculiar/x509's tsyringe needs it first, and the bundler would otherwise evaluate it too late in
// the compiled executable), then the worker itself; messages that arrive while it loads are kept and handed over.
import "reflect-metadata";

declare const self: Worker;
const early: MessageEvent[] = [];
self.onmessage = (ev: MessageEvent) => {
  early.push(ev);
};
const { onMessage } = await import("./worker-main.ts");
self.onmessage = onMessage;
for (const ev of early.splice(0)) onMessage(ev);
