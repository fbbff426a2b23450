// test/support/run-end.ts — preloaded by bunfig.toml ([test] preload): what has to happen once after the whole
// run, after every test file (a hook in a preload file is global in bun test).
import { afterAll } from "bun:test";
import { removeRunEndDirs } from "./tmp-dirs.ts";

afterAll(removeRunEndDirs);
