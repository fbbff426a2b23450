// The module graph of src/, hw/, lib/, os/ and test/support/ (docs/ARCHITECTURE.md "Layering"): no import cycle, and
// the layers only point down — lib/ imports neither hw/ nor src/, hw/ never imports src/ (the application), and
// src/ reaches hw/ only through its public modules (the entry point and the two interfaces), never a backend.
// Imports are read by TypeScript's own pre-processor (static, `export … from`, `import type`, dynamic import()):
// a type-only cycle is a cycle too, because it ties the modules' designs together.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dir, "..");
const SCANNED = ["src", "hw", "lib", "os", "test/support"];
/** What src/ may import from hw/: the entry point and the interfaces (docs/ARCHITECTURE.md). */
const HW_PUBLIC = new Set(["hw/index.ts", "hw/aead.ts", "hw/keystore.ts"]);

function tsFiles(dir: string): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? tsFiles(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : [],
  );
}

/** Relative imports of one file, as repository paths ("hw/aead.ts"). Package imports are not edges. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) =>
      relative(ROOT, resolve(ROOT, dirname(file), s))
        .split(sep)
        .join("/"),
    );
}

/** Every cycle's strongly connected component (Tarjan), each as one closed path through it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.add(w);
    } while (w !== v);
    if (scc.size > 1 || (graph.get(v) ?? []).includes(v)) out.push(pathThrough(graph, scc, v));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A readable cycle inside one component: from `start` along edges that stay in it, back to `start`. */
function pathThrough(graph: Map<string, string[]>, scc: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc];
}

const files = SCANNED.flatMap(tsFiles);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe("module graph", () => {
  test("the scan sees the tree (src/, hw/, test/support/ and their imports)", () => {
    expect(files).toContain("src/sepp.ts");
    expect(files).toContain("hw/index.ts");
    expect(files).toContain("test/support/pki.ts");
    expect(graph.get("src/sepp.ts")).toContain("hw/index.ts");
  });

  test("the cycle finder reports a cycle, including a type-only one and a self-import", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", []],
      ["e", ["e"]],
    ]);
    expect(findCycles(g)).toEqual([
      ["a", "b", "c", "a"],
      ["e", "e"],
    ]);
    expect(
      findCycles(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });

  test("no import cycle in src/, hw/, lib/, os/, test/support/", () => {
    expect(findCycles(graph).map((c) => c.join(" -> "))).toEqual([]);
  });

  test("layers point down: lib/ imports neither hw/ nor src/; hw/ and os/ never import src/", () => {
    const wrong: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        if (f.startsWith("lib/") && !d.startsWith("lib/")) wrong.push(`${f} -> ${d}`);
        if (f.startsWith("hw/") && !d.startsWith("hw/") && !d.startsWith("lib/")) wrong.push(`${f} -> ${d}`);
        if (f.startsWith("os/") && !d.startsWith("os/") && !d.startsWith("lib/")) wrong.push(`${f} -> ${d}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("src/ reaches hw/ only through hw/index.ts and the interfaces hw/aead.ts, hw/keystore.ts", () => {
    const wrong: string[] = [];
    for (const [f, deps] of graph)
      if (f.startsWith("src/"))
        for (const d of deps) if (d.startsWith("hw/") && !HW_PUBLIC.has(d)) wrong.push(`${f} -> ${d}`);
    expect(wrong).toEqual([]);
  });
});
