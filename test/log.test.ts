// The logger's level (src/log.ts): one level for a logger and all its children, changed by setLevel (log.level of
// the configuration, docs/CONFIG.md), and the SEPP_LOG_LEVEL values it takes.
import { describe, expect, test } from "bun:test";
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
