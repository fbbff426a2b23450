// test/metrics-registry.test.ts — the registry hands back the metric registered under a name, and refuses
// (throws) to hand it out as another type: one name, one type, one # TYPE line in the exposition.
import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "../src/metrics.ts";

describe("metrics registry", () => {
  test("the same name and type returns the same metric (counts land in one series)", () => {
    const r = new Registry();
    const a = r.counter("sepp_x_total", "x");
    r.counter("sepp_x_total", "x").inc({ peer: "p" });
    expect(a.get({ peer: "p" })).toBe(1);
    expect(r.gauge("sepp_g", "g")).toBe(r.gauge("sepp_g", "g"));
    expect(r.histogram("sepp_h", "h")).toBe(r.histogram("sepp_h", "h"));
  });

  test("a name registered as one type is refused as any other type", () => {
    const r = new Registry();
    r.counter("sepp_c_total", "c");
    r.gauge("sepp_g", "g");
    r.histogram("sepp_h_seconds", "h");
    expect(() => r.gauge("sepp_c_total", "c")).toThrow(/sepp_c_total is a counter, not a gauge/);
    expect(() => r.histogram("sepp_c_total", "c")).toThrow(TypeError);
    expect(() => r.counter("sepp_g", "g")).toThrow(/sepp_g is a gauge, not a counter/);
    expect(() => r.histogram("sepp_g", "g")).toThrow(TypeError);
    expect(() => r.counter("sepp_h_seconds", "h")).toThrow(/is a histogram, not a counter/);
    expect(() => r.gauge("sepp_h_seconds", "h")).toThrow(TypeError);
    // nothing was replaced: each name still renders once, as its first type
    const text = r.render();
    expect(text.match(/# TYPE /g)?.length).toBe(3);
    expect(text).toContain("# TYPE sepp_c_total counter");
    expect(text).toContain("# TYPE sepp_g gauge");
    expect(text).toContain("# TYPE sepp_h_seconds histogram");
    expect(r.counter("sepp_c_total", "c")).toBeInstanceOf(Counter);
    expect(r.gauge("sepp_g", "g")).toBeInstanceOf(Gauge);
    expect(r.histogram("sepp_h_seconds", "h")).toBeInstanceOf(Histogram);
  });
});
