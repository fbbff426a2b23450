// test/metrics-series.test.ts — Counter.series / Histogram.series (label key built once, for the data path's
// hot path) must count exactly like inc/observe with the same labels, in any label order, under the series cap.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Registry } from "../src/metrics.ts";
import { dataPathMetrics } from "../src/datapath/deps.ts";

describe("metrics series handles", () => {
  test("a counter series renders the same as inc with the same labels (any order, values needing escapes)", () => {
    const label = fc.string({ maxLength: 8 });
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("peer", "mode", "direction", "outcome", "a"), label, { maxKeys: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (labels, n) => {
          const a = new Registry();
          const b = new Registry();
          const ca = a.counter("x_total", "x");
          const s = b.counter("x_total", "x").series(labels);
          // reversed insertion order: the key must still be the sorted one
          const reversed = Object.fromEntries(Object.entries(labels).reverse());
          for (let i = 0; i < n; i++) {
            ca.inc(reversed);
            s.inc();
          }
          expect(b.render()).toBe(a.render());
          expect(b.counter("x_total", "x").get(labels)).toBe(n);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a histogram series renders the same as observe", () => {
    const a = new Registry();
    const b = new Registry();
    const s = b.histogram("t_seconds", "t").series({ mode: "prins", direction: "inbound" });
    for (const v of [0.0001, 0.003, 0.02, 7, 30]) {
      a.histogram("t_seconds", "t").observe({ direction: "inbound", mode: "prins" }, v);
      s.observe(v);
    }
    expect(b.render()).toBe(a.render());
    expect(b.render()).toContain('t_seconds_bucket{direction="inbound",mode="prins",le="0.005"} 2');
  });

  test("a series handle respects the per-metric series cap", () => {
    const r = new Registry();
    const c = r.counter("cap_total", "c");
    for (let i = 0; i < 2000; i++) c.inc({ i: String(i) });
    const extra = c.series({ i: "over" });
    extra.inc();
    expect(c.get({ i: "over" })).toBe(0);
    const old = c.series({ i: "7" });
    old.inc(2);
    expect(c.get({ i: "7" })).toBe(3);
  });

  test("dataPathMetrics.done counts per peer/mode/direction/outcome and observes per mode/direction", () => {
    const r = new Registry();
    const m = dataPathMetrics(r);
    m.done("peer-a", "prins", "outbound", "ok", 0.002);
    m.done("peer-a", "prins", "outbound", "ok", 0.2);
    m.done("peer-b", "tls", "inbound", "refused", 0.0001);
    const out = r.render();
    expect(out).toContain(
      'sepp_datapath_requests_total{direction="outbound",mode="prins",outcome="ok",peer="peer-a"} 2',
    );
    expect(out).toContain(
      'sepp_datapath_requests_total{direction="inbound",mode="tls",outcome="refused",peer="peer-b"} 1',
    );
    expect(out).toContain('sepp_datapath_request_duration_seconds_count{direction="outbound",mode="prins"} 2');
    expect(out).toContain(
      'sepp_datapath_request_duration_seconds_bucket{direction="outbound",mode="prins",le="0.0025"} 1',
    );
    // a second instance on the same registry adds to the same series
    dataPathMetrics(r).done("peer-a", "prins", "outbound", "ok", 0.002);
    expect(
      r
        .counter("sepp_datapath_requests_total", "")
        .get({ peer: "peer-a", mode: "prins", direction: "outbound", outcome: "ok" }),
    ).toBe(3);
  });
});
