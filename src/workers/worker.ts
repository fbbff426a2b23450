// src/workers/worker.ts — the entry point of a data-path worker (src/workers/pool.ts starts it; build.sh embeds it
// in the executable as a second entry point). Messages reach the handler only after the module graph is evaluated,
// so none are lost while it loads. (@peculiar/x509 and its Reflect metadata polyfill load on first use: lib/x509.ts.)
import { onMessage } from "./worker-main.ts";

declare const self: Worker;
self.onmessage = onMessage;
