// bench/e2e/daemon.ts — long-running helper processes of bench:e2e (NF, nghttpx, Bun proxies) and a port probe.
import { spawn } from "node:child_process";
import { waitFor } from "../../scripts/lib/pair.ts";
import { countGcBytes } from "./gc-bytes.ts";

/** A long-running helper process; resolves once `ready` says so from its stdout/stderr. */
export async function daemon(
  name: string,
  cmd: string,
  args: string[],
  ready: (out: string) => boolean | Promise<boolean>,
  timeoutMs = 15000,
  env?: Readonly<Record<string, string>>,
) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ? { ...process.env, ...env } : undefined });
  let out = "";
  const add = (d: Buffer) => (out = (out + d.toString()).slice(-20000));
  p.stdout!.on("data", add);
  // --gc-bytes: stderr carries the GC log, counted instead of kept
  if (env?.BUN_JSC_logGC) countGcBytes(p.pid!, p.stderr!);
  else p.stderr!.on("data", add);
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  try {
    await waitFor(
      name,
      () => {
        if (p.exitCode !== null) throw new Error(`${name} exited (${p.exitCode}): ${out}`);
        return ready(out);
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    p.kill("SIGKILL");
    throw e;
  }
  return {
    pid: p.pid!,
    output: () => out,
    async stop() {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A TCP port accepts connections. */
export async function listening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}
