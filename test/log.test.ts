// The logger's level (src/log.ts): one level for a logger and all its children, changed by setLevel (log.level of
// the configuration, docs/CONFIG.md), and the SEPP_LOG_LEVEL values it takes.
import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { createLogger, logLevelOf } from "../src/log.ts";

describe("log level", () => {
  test("setLevel on the root reaches children made before and after it", () => {
    const lines: string[] = [];
    const root = createLogger({ level: "warn", sink: (l) => lines.push(JSON.parse(l).msg) });
    const before = root.child({ component: "a" });
    before.info("quiet");
    root.setLevel("debug");
    before.debug("a debug");
    root.child({ component: "b" }).debug("b debug");
    expect(before.enabled("debug")).toBe(true);
    before.setLevel("error"); // a child's change is the whole tree's
    root.warn("quiet too");
    expect(root.enabled("warn")).toBe(false);
    expect(lines).toEqual(["a debug", "b debug"]);
  });

  test("SEPP_LOG_LEVEL: the four levels, nothing else", () => {
    expect(["debug", "info", "warn", "error"].map(logLevelOf)).toEqual(["debug", "info", "warn", "error"]);
    for (const v of [undefined, "", "DEBUG", "trace", "info "]) expect(logLevelOf(v)).toBeUndefined();
  });
});

describe("every (rate-limited lines)", () => {
  afterEach(() => setSystemTime());
  test("one line per interval and key, on a monotonic clock: the wall clock stepped back does not silence a key", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", sink: (l) => lines.push(JSON.parse(l).msg) });
    expect(log.every("k", 50, "warn", "first")).toBe(true);
    expect(log.every("k", 50, "warn", "within the interval")).toBe(false);
    expect(log.every("other", 50, "warn", "another key")).toBe(true);
    setSystemTime(new Date(Date.now() - 3_600_000)); // NTP stepped the wall clock back by an hour
    await Bun.sleep(60);
    // before: silent for the hour the wall clock needed to pass the first line's time again
    expect(log.every("k", 50, "warn", "after the interval")).toBe(true);
    expect(lines).toEqual(["first", "another key", "after the interval"]);
  });
});
