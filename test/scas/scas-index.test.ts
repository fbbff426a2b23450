// SCAS TS 33.517 4.2.2.1 is the framing of the SEPP-specific test cases (no procedure and no expected result of its
// own). What this repository owes it: each test case has its test. This test reads docs/SCAS.md and checks that
// every test named there (`SCAS 33.517 …` / `SCAS 33.117 …`, in backquotes) exists in the file of its row, and that
// every TS 33.517 clause 4.2.2.2–4.2.2.10 has a row.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

describe("docs/SCAS.md", () => {
  test("SCAS 33.517 4.2.2.1 Security functional requirements general approach", () => {
    const rows = readFileSync(join(ROOT, "docs/SCAS.md"), "utf8")
      .split("\n")
      .filter((l) => /^\| 4\./.test(l));
    const clauses = new Set(rows.map((r) => r.split("|")[1]!.trim().split(" ")[0]));
    for (let i = 2; i <= 10; i++) expect(clauses.has(`4.2.2.${i}`)).toBe(true);
    let checked = 0;
    for (const row of rows) {
      const cells = row.split("|").map((c) => c.trim());
      const file = /`(test\/[^`]+\.test\.ts)`/.exec(cells[3] ?? "")?.[1];
      const names = [...(cells[2] ?? "").matchAll(/`(SCAS 33\.[0-9]+ [^`]+)`/g)].map((m) => m[1]!);
      if (!file || names.length === 0) continue;
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const name of names) {
        // a test generated per mode is written once with "(${mode})" in its name
        const found = text.includes(name) || text.includes(name.replace(/ \((PRINS|TLS)\)$/, ` (\${mode})`));
        expect(`${name}: ${found ? "found" : "missing"}`).toBe(`${name}: found`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(14);
  });
});
