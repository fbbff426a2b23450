// scripts/lib/pair.ts freePort(): the ports the tests give their servers lie below the kernel's ephemeral range, so
// that no outgoing connection's source port or bind(0) can take one between its release and the server's bind.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { freePort } from "../../scripts/lib/pair.ts";

const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);

test("fresh ports are distinct, bindable and below the ephemeral range", async () => {
  expect(low).toBeGreaterThan(12_000); // Linux default 32768: the CI machines have room below it
  const ports: number[] = [];
  for (let i = 0; i < 40; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(10_000);
    expect(p).toBeLessThan(low);
  }
  // each can be bound right away
  for (const p of ports.slice(0, 5)) {
    const bound = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once("error", () => res(false));
      s.listen(p, "127.0.0.1", () => s.close(() => res(true)));
    });
    expect(bound).toBe(true);
  }
});
