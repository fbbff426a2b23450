// src/n32f/wasm/payload.gen.ts is what scripts/gen-wasm.ts makes of src/n32f/wasm/assembly/payload.ts now: a change of
// the AssemblyScript source (or of the compiler) without `bun scripts/gen-wasm.ts` fails here.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile, render, TARGET } from "../../scripts/gen-wasm.ts";

test("payload.gen.ts is the compiled payload module (bun scripts/gen-wasm.ts)", () => {
  const committed = readFileSync(join(import.meta.dir, "../..", TARGET), "utf8");
  expect(committed).toBe(render(compile(true), compile(false)));
}, 60_000);
