// systemd notification (Type=notify, WatchdogSec): the SEPP sends READY=1 once it serves, WATCHDOG=1 at half the
// interval, STOPPING=1 when it drains; datagrams on $NOTIFY_SOCKET (path or abstract) from the SEPP's own PID.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { sdNotify, sockaddrUn, watchdogIntervalMs } from "../../os/sdnotify.ts";
import { startSepp, waitFor, writePair } from "../../scripts/lib/pair.ts";
import { NotifyReceiver } from "../support/notify-receiver.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const dir = freshDirs("sepp-notify-").root;

test("sdNotify sends one datagram to a path socket and to an abstract one; nothing without NOTIFY_SOCKET", async () => {
  const path = new NotifyReceiver(join(dir, "n1.sock"));
  const abs = new NotifyReceiver(`@sepp-test-${process.pid}`);
  try {
    expect(sdNotify("STATUS=one", join(dir, "n1.sock"))).toBe(true);
    expect(sdNotify("STATUS=two", `@sepp-test-${process.pid}`)).toBe(true);
    expect(sdNotify("STATUS=three", undefined)).toBe(false);
    expect(sdNotify("STATUS=four", join(dir, "absent.sock"))).toBe(false);
    await waitFor("datagrams", () => path.messages.length >= 1 && abs.messages.length >= 1, 2000, 10);
    expect(path.messages).toEqual(["STATUS=one"]);
    expect(abs.messages).toEqual(["STATUS=two"]);
  } finally {
    path.close();
    abs.close();
  }
  expect(sockaddrUn("x".repeat(200))).toBeNull();
  expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" })).toBe(30_000);
  expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" })).toBeUndefined();
  expect(watchdogIntervalMs({})).toBeUndefined();
});

test("a SEPP process: READY=1 after start, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM", async () => {
  const pair = await writePair({ dir });
  const sock = join(dir, "notify.sock");
  const rx = new NotifyReceiver(sock);
  try {
    const sepp = await startSepp(pair.home, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: "400000" });
    await waitFor("READY=1", () => rx.messages.some((m) => m.split("\n").includes("READY=1")), 10_000, 20);
    const t0 = rx.messages.filter((m) => m === "WATCHDOG=1").length;
    await Bun.sleep(1100); // 200 ms period: about 5 more
    const pings = rx.messages.filter((m) => m === "WATCHDOG=1").length - t0;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(pings).toBeLessThanOrEqual(8);
    expect(rx.messages.find((m) => m.includes("READY=1"))).toContain(`MAINPID=${sepp.proc.pid}`);
    expect(await sepp.stop()).toBe(0);
    await waitFor("STOPPING=1", () => rx.messages.includes("STOPPING=1"), 5000, 20);
  } finally {
    rx.close();
  }
}, 60_000);
