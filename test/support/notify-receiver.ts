// test/support/notify-receiver.ts — a fake systemd NOTIFY_SOCKET: a unix datagram socket bound through bun:ffi
// (Bun has no unix datagram sockets), polled non-blocking. Test support only.
import { dlopen, ptr } from "bun:ffi";
import { sockaddrUn } from "../../os/sdnotify.ts";

const libc = dlopen("libc.so.6", {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  close: { args: ["i32"], returns: "i32" },
});
const SOCK_NONBLOCK = 0o4000;

export class NotifyReceiver {
  readonly messages: string[] = [];
  #fd: number;
  #timer: ReturnType<typeof setInterval>;

  constructor(readonly name: string) {
    const sa = sockaddrUn(name);
    if (!sa) throw new Error("bad socket name");
    this.#fd = libc.symbols.socket(1, 2 | SOCK_NONBLOCK, 0);
    if (this.#fd < 0 || libc.symbols.bind(this.#fd, ptr(sa.addr), sa.len) !== 0) throw new Error("bind failed");
    const buf = new Uint8Array(4096);
    this.#timer = setInterval(() => {
      for (;;) {
        const n = Number(libc.symbols.recv(this.#fd, ptr(buf), buf.length, 0));
        if (n <= 0) break;
        this.messages.push(new TextDecoder().decode(buf.subarray(0, n)));
      }
    }, 10);
  }

  close(): void {
    clearInterval(this.#timer);
    libc.symbols.close(this.#fd);
  }
}
