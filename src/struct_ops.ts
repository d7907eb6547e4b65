/**
 * struct_ops: a kernel ops table (`tcp_congestion_ops`, `sched_ext_ops`...)
 * implemented by BPF programs and declared as a map in SEC(".struct_ops").
 * Registering it is attaching the map, not a program: the kernel calls the
 * programs through the table until the registration is undone.
 */
import { type Ptr, errno, libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { type LinkBackend, libbpfLinkBackend, withoutLinkFd } from "./link.ts";
import { type LibbpfLogHandler, withLibbpfLog } from "./libbpf_log.ts";

const EEXIST = 17;
const EBUSY = 16;

/**
 * Registers the loaded struct_ops map `map` (libbpf's
 * `bpf_map__attach_struct_ops`); `mapFd` is its fd, `name` its map name.
 */
export function registerStructOps(
  map: Ptr,
  mapFd: number,
  name: string,
  log: LibbpfLogHandler | undefined,
): LinkBackend {
  const L = libbpf();
  const link = withLibbpfLog(log, () => L.bpf_map__attach_struct_ops(map));
  if (link === null) {
    const e = Math.abs(errno());
    throw bpfError("bpf_map__attach_struct_ops", e, undefined, {
      detail: `struct_ops map '${name}'`,
      hint:
        e === EBUSY
          ? "it is registered already: close the link of the first attachStructOps() before registering it again"
          : e === EEXIST
            ? "the kernel already has ops of this name (another process, or a map left registered): give the table another .name"
            : undefined,
    });
  }
  const base = libbpfLinkBackend(link);
  // Without BPF_F_LINK (SEC(".struct_ops")) libbpf registers by a map
  // update and its link's "fd" is the map's own: not a link to hand out.
  if (L.bpf_link__fd(link) !== mapFd) return base;
  return withoutLinkFd(
    base,
    `struct_ops map '${name}' is registered by a map update and has no link fd`,
    'declare it in SEC(".struct_ops.link") (libbpf ≥ 1.2, kernel ≥ 6.4) for a link that can be pinned',
  );
}
