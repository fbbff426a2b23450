// A full data partition (lib/storage-reserve.ts): a change that cannot be stored is 507 INSUFFICIENT_STORAGE with
// nothing changed, /v1/health says so, and the next start still starts (before: SQLite could not open its store on
// a full partition, every start failed with "disk I/O error" and the gateway rebooted into the same failure). The
// partition is a real 16 MiB tmpfs mounted for the test (CI runs as root, like the RAUC tests).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { RESERVE_BYTES, RESERVE_NAME, settleReserve } from "../../lib/storage-reserve.ts";
import { runSeppToExit, startSepp, writePair, type SeppProcess } from "../../scripts/lib/pair.ts";
import { tmpfsPartitions } from "../support/tmpfs.ts";

const running: SeppProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
});
const { partition, fill } = tmpfsPartitions("sepp-storage-full-"); // unmounted after the processes above stop

type Health = { status: string; checks: Record<string, string> };

describe("the reserve", () => {
  test("made where there is room, kept, given back on a nearly full partition, not made without room", () => {
    const d = partition(8);
    expect(settleReserve(d)).toBe("made");
    expect(statSync(join(d, RESERVE_NAME)).size).toBe(RESERVE_BYTES);
    expect(settleReserve(d)).toBe("kept");
    fill(d, "filler", 512);
    expect(settleReserve(d)).toBe("released");
    expect(existsSync(join(d, RESERVE_NAME))).toBe(false);
    expect(settleReserve(d)).toBe("no-room");
    const small = partition(4); // 4 MiB: no room for a 4 MiB reserve and 1 MiB beside it
    expect(settleReserve(small)).toBe("no-room");
    expect(readdirSync(small)).toEqual([]);
  });
});

describe("a SEPP whose data partition fills up", () => {
  test("a change: 507 INSUFFICIENT_STORAGE, nothing changed; health says full; the next start starts", async () => {
    const pair = await writePair({ dir: partition(16) });
    const side = pair.visited;
    let s = await startSepp(side);
    running.push(s);
    const dataDir = join(side.dir, "var");
    expect(statSync(join(dataDir, RESERVE_NAME)).size).toBe(RESERVE_BYTES);
    let h = (await (await s.admin("/v1/health")).json()) as Health;
    expect(h.checks.storage).toBe("ok");
    const room = /^sepp_storage_free_bytes (\d+)$/m.exec(await (await s.admin("/metrics")).text())?.[1];
    expect(Number(room)).toBeGreaterThan(1 << 20);

    fill(side.dir, "journal-filler");
    const cfg = (await (await s.admin("/v1/config")).json()) as Record<string, any>;
    const v0 = (await s.admin("/v1/config")).headers.get("etag");
    const r = await s.admin("/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...cfg, log: { level: "debug" } }),
    });
    // before: 500 SYSTEM_FAILURE "internal error"
    expect(r.status).toBe(507);
    expect(await r.json()).toMatchObject({ status: 507, cause: "INSUFFICIENT_STORAGE" });
    expect((await s.admin("/v1/config")).headers.get("etag")).toBe(v0);
    h = (await (await s.admin("/v1/health")).json()) as Health;
    expect(h.status).toBe("UP"); // the data path needs no writes
    expect(h.checks.storage).toMatch(/^full: \d+ KiB free; changes cannot be stored$/);
    const free = Number(/^sepp_storage_free_bytes (\d+)$/m.exec(await (await s.admin("/metrics")).text())?.[1]);
    expect(free).toBeLessThan(1 << 20);

    expect(await s.stop()).toBe(0);
    running.pop();
    // before: "start-up failed: disk I/O error" (the store's WAL index could not be made)
    s = await startSepp(side);
    running.push(s);
    expect(s.logs.find((l) => l.event === "storage-full")?.level).toBe("error");
    h = (await (await s.admin("/v1/health")).json()) as Health;
    expect(h.status).toBe("UP");
    expect(existsSync(join(dataDir, RESERVE_NAME))).toBe(false);
    expect(await s.stop()).toBe(0);
    running.pop();
    // full again, no reserve left: the start fails, saying why (before: "disk I/O error")
    fill(side.dir, "more-filler");
    const exited = await runSeppToExit(side);
    expect(exited.code).toBe(1);
    expect(exited.out).toMatch(
      /the data partition is full \(\d+ KiB free on .+\): the configuration store cannot be opened/,
    );
  }, 60000);
});
