/** What the kernel holds, asked of bpftool: the tests' independent check. */
import { execFileSync, spawnSync } from "node:child_process";
import { libc } from "../../ffi/mod.ts";

/**
 * Whether the kernel has link `id` (`bpftool link show id N`: a full
 * listing can fail while other processes close links).
 */
export function bpftoolHasLink(id: number): boolean {
  return spawnSync("bpftool", ["link", "show", "id", String(id)]).status === 0;
}

/** Programs whose holders include this process (bpftool's "pids"). */
export function ourPrograms(): number {
  const out = execFileSync("bpftool", ["prog", "list", "-j"], {
    encoding: "utf8",
  });
  const pid = libc().getpid();
  return (JSON.parse(out) as { pids?: { pid: number }[] }[]).filter((p) =>
    p.pids?.some((x) => x.pid === pid),
  ).length;
}
