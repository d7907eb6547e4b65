/** What the kernel holds, asked of bpftool: the tests' independent check. */
import { spawnSync } from "node:child_process";

/**
 * Whether the kernel has link `id` (`bpftool link show id N`: a full
 * listing can fail while other processes close links).
 */
export function bpftoolHasLink(id: number): boolean {
  return spawnSync("bpftool", ["link", "show", "id", String(id)]).status === 0;
}
