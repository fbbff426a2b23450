// startSepp (src/sepp.ts): the N32 listeners are the shared wiring (src/n32c/listeners.ts), and a start that
// fails part-way closes whatever it had opened (listeners, store, keystore), so the next start can bind again.
import { afterEach, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { memoryLogger } from "../../src/log.ts";
import { startSepp } from "../../src/sepp.ts";
import { writePair } from "../../scripts/lib/pair.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("sepp-start-");
const holders: Server[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) await new Promise((r) => h.close(r));
});

const hold = (port: number) =>
  new Promise<Server>((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(port, "127.0.0.1", () => res(s));
  });

const canBind = async (port: number) => {
  try {
    const s = await hold(port);
    await new Promise((r) => s.close(r));
    return true;
  } catch {
    return false;
  }
};

test("a start that fails at its last listener closes the N32, N32-f and SBI listeners it had opened", async () => {
  const dir = freshDir();
  const { visited } = await writePair({
    dir,
    separateN32f: true,
    edit: (side, c) => (c.storage = { dir: join(dir, side, "var") }),
  });
  const p = visited.ports;
  const admin = await hold(p.admin); // the admin listener, opened last, cannot bind
  holders.push(admin);
  const log = memoryLogger("debug");
  await expect(startSepp({ configPath: visited.configPath, log })).rejects.toThrow();
  for (const port of [p.n32, p.n32f!, p.sbi]) expect(await canBind(port)).toBe(true);

  // the store and keystore were closed too: the same data directory starts cleanly once the port is free
  holders.splice(0);
  await new Promise((r) => admin.close(r));
  const s = await startSepp({ configPath: visited.configPath, log: memoryLogger("debug") });
  try {
    expect(s.ports.n32).toBe(p.n32);
    expect(s.ports.n32f).toBe(p.n32f!);
  } finally {
    await s.stop();
  }
});

test("a start whose separate N32-f listener cannot bind closes the N32-c listener", async () => {
  const dir = freshDir();
  const { visited } = await writePair({
    dir,
    separateN32f: true,
    edit: (side, c) => (c.storage = { dir: join(dir, side, "var") }),
  });
  holders.push(await hold(visited.ports.n32f!));
  await expect(startSepp({ configPath: visited.configPath, log: memoryLogger("debug") })).rejects.toThrow();
  expect(await canBind(visited.ports.n32)).toBe(true);
});
