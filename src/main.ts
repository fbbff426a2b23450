#!/usr/bin/env bun
// src/main.ts — the CLI. Contract used by tools outside the project (keep it stable):
//   sepp serve [--config FILE]    run the SEPP (without --config: the embedded default configuration)
//   sepp --version                print the version
// Logs are JSON lines on stdout; SIGTERM/SIGINT drain and exit 0.
import { VERSION } from "./version.ts";
import { createLogger, logLevelOf } from "./log.ts";
import { notifyReady, sdNotify } from "../os/sdnotify.ts";

const USAGE = `usage: sepp serve [--config FILE]
       sepp --version`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--version") || argv[0] === "version") {
    process.stdout.write(`sepp ${VERSION}\n`);
    return 0;
  }
  if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv[0] !== "serve") {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let configPath: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--config" && argv[i + 1]) configPath = argv[++i];
    else if (a.startsWith("--config=")) configPath = a.slice("--config=".length);
    else {
      process.stderr.write(`unknown argument ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  // every file this process creates is its owner's alone unless it asks otherwise (the certificates it writes 0644
  // explicitly): the store and its snapshot may hold an inline private key of the configuration, and SQLite makes
  // its files with the umask's mode (0644 under the usual 022)
  process.umask(0o077);
  // SEPP_LOG_LEVEL overrides log.level of the configuration (which applies once it is loaded, and on a change)
  const envLevel = process.env.SEPP_LOG_LEVEL;
  const fixedLevel = logLevelOf(envLevel);
  const log = createLogger({ level: fixedLevel ?? "info" });
  if (envLevel !== undefined && !fixedLevel)
    log.warn("SEPP_LOG_LEVEL ignored: not debug, info, warn or error", { value: envLevel.slice(0, 20) });
  const { startSepp } = await import("./sepp.ts");
  let sepp: Awaited<ReturnType<typeof startSepp>>;
  try {
    sepp = await startSepp({ configPath, log, logLevel: fixedLevel ?? "config" });
  } catch (e) {
    log.error("start-up failed", { error: e instanceof Error ? e.message : String(e) });
    return 1;
  }
  const watchdog = notifyReady(); // systemd Type=notify, WatchdogSec (os/sdnotify.ts)
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("draining", { signal });
      clearInterval(watchdog);
      sdNotify("STOPPING=1");
      sepp.stop().then(resolve, (e) => {
        log.error("drain failed", { error: String(e) });
        resolve();
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
  log.info("stopped");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fatal: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
