/** Telling BPF fds apart: a pinned path may hold a map, a program or a link. */
import { readlinkSync } from "node:fs";

/**
 * What kind of BPF object `fd` is ("bpf-map", "bpf-prog", "bpf-link"...),
 * from its /proc/self/fd link; undefined when that cannot be read. The
 * kernel answers BPF_OBJ_GET for any kind, and a program's info read as a
 * map's is nonsense (a 1.2 GB key size).
 */
export function bpfFdKind(fd: number): string | undefined {
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    return target.startsWith("anon_inode:") ? target.slice(11) : target;
  } catch {
    return undefined;
  }
}

/** "a map", "a program", "a link" for a {@link bpfFdKind} answer. */
export function describeFdKind(kind: string): string {
  return kind === "bpf-map"
    ? "a map"
    : kind === "bpf-prog"
      ? "a program"
      : kind === "bpf-link"
        ? "a link"
        : `a ${kind}`;
}
