/**
 * Attaching sk_msg and sk_skb programs to a sockmap or sockhash: the
 * kernel runs them for the sockets the map holds. A kernel link where the
 * kernel has sockmap links (Linux ≥ 6.10), else a plain BPF_PROG_ATTACH
 * that closing the link undoes.
 */
import { errno, libbpf, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { type LinkBackend, fdLinkBackend, withoutLinkFd } from "./link.ts";
import { type LibbpfLogHandler, withLibbpfLog } from "./libbpf_log.ts";

/** enum bpf_attach_type values a sockmap takes (uapi/linux/bpf.h). */
export const SOCKMAP_ATTACH_TYPES: ReadonlyMap<number, string> = new Map([
  [4, "sk_skb/stream_parser"],
  [5, "sk_skb/stream_verdict"],
  [7, "sk_msg"],
  [38, "sk_skb/verdict"],
]);

const EINVAL = 22;
const EBUSY = 16;
const EOPNOTSUPP = 95;
// fcntl command (uapi asm-generic/fcntl.h)
const F_DUPFD_CLOEXEC = 1030;

/** Attaches program `progFd` to sockmap `mapFd` as `attachType`. */
export function attachToSockmap(
  progFd: number,
  mapFd: number,
  attachType: number,
  detail: string,
  log: LibbpfLogHandler | undefined,
): LinkBackend {
  const L = libbpf();
  const hint = (e: number) =>
    e === EBUSY
      ? `the map already has a ${SOCKMAP_ATTACH_TYPES.get(attachType)} program: close that link first`
      : e === EINVAL || e === EOPNOTSUPP
        ? "the map must be a sockmap or sockhash (BPF_MAP_TYPE_SOCKMAP / SOCKHASH)"
        : undefined;
  const linkFd = withLibbpfLog(log, () =>
    L.bpf_link_create(progFd, mapFd, attachType, null),
  );
  if (linkFd >= 0) return fdLinkBackend(linkFd);
  // Kernels before 6.10 have no sockmap links (EINVAL for a sockmap too).
  return attachToSockmapWithoutLink(
    progFd,
    mapFd,
    attachType,
    detail,
    log,
    hint,
  );
}

/**
 * The pre-6.10 way: BPF_PROG_ATTACH, undone by BPF_PROG_DETACH when the
 * returned backend is destroyed. Exported for tests (a 6.10+ kernel never
 * takes this path on its own).
 */
export function attachToSockmapWithoutLink(
  progFd: number,
  mapFd: number,
  attachType: number,
  detail: string,
  log: LibbpfLogHandler | undefined,
  hint: (errno: number) => string | undefined = () => undefined,
): LinkBackend {
  const L = libbpf();
  const err = withLibbpfLog(log, () =>
    L.bpf_prog_attach(progFd, mapFd, attachType, 0),
  );
  if (err < 0) {
    const e = Math.abs(err);
    throw bpfError("bpf_prog_attach", e, undefined, { detail, hint: hint(e) });
  }
  // Detaching names the program and map by fd: hold our own copies, so
  // the numbers still mean them when the object or map has closed its own.
  // Close-on-exec, as every fd libbpf makes: a child exec'd meanwhile must
  // not inherit (and keep alive) the program and map.
  const c = libc();
  const prog = c.fcntl(progFd, F_DUPFD_CLOEXEC, 0);
  const e = prog < 0 ? errno() : 0;
  const map = prog < 0 ? -1 : c.fcntl(mapFd, F_DUPFD_CLOEXEC, 0);
  if (map < 0) {
    // Without both copies it could never be detached: undo it now.
    const dupErr = e || errno();
    L.bpf_prog_detach2(progFd, mapFd, attachType);
    if (prog >= 0) c.close(prog);
    throw bpfError("fcntl(F_DUPFD_CLOEXEC)", dupErr, undefined, { detail });
  }
  return withoutLinkFd(
    {
      destroy() {
        L.bpf_prog_detach2(prog, map, attachType);
        c.close(prog);
        c.close(map);
      },
    },
    "this kernel attaches sockmap programs without a link (Linux ≥ 6.10 has links)",
  );
}
