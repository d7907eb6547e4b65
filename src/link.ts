/**
 * `BpfLink`: an attachment of a program. It stays attached until `close()`
 * or until its object closes; dropping the JS object never detaches (the
 * object keeps a strong reference). A pinned link outlives the process.
 */
import { mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { type Ptr, cstr, errno, libbpf, libc } from "../ffi/mod.ts";
import { bpfError, checkPinPath } from "./bpf_error.ts";
import {
  BpfTypeError,
  ClosedError,
  StateError,
  UnsupportedError,
} from "./errors.ts";
import { bpfFdKind, describeFdKind } from "./fd_kind.ts";
import { describeValue } from "./map_codecs.ts";
import { type LinkInfo, linkInfo } from "./link_info.ts";
import { cancelRelease, releaseOnCollect } from "./gc_release.ts";
import { trackOpen, untrackOpen } from "./thread_exit.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";
import type { ObjectOwner, OwnedLink } from "./owner.ts";

/** How a link is held natively: a libbpf `bpf_link`, a bare link fd, or tc. */
export interface LinkBackend {
  /** The kernel link fd; `what` names the call that needs it, in errors. */
  fd(what?: string): number;
  /** Pins the link at `path` on a bpffs. */
  pin(path: string): void;
  /** Removes the pin made by `pin()`. */
  unpin(path: string): void;
  /** Detaches (unless pinned) and frees. */
  destroy(): void;
}

/** A libbpf `struct bpf_link *`. */
export function libbpfLinkBackend(link: Ptr): LinkBackend {
  const L = libbpf();
  return {
    fd: () => L.bpf_link__fd(link),
    pin(path) {
      checkPinPath("bpf_link__pin", path);
      clearLibbpfLog();
      const err = L.bpf_link__pin(link, cstr(path));
      if (err < 0) throw bpfError("bpf_link__pin", err, { kind: "pin", path });
    },
    unpin() {
      clearLibbpfLog();
      const err = L.bpf_link__unpin(link);
      if (err < 0) throw bpfError("bpf_link__unpin", err);
    },
    destroy: () => void L.bpf_link__destroy(link),
  };
}

/**
 * `base` for an attachment that is not a kernel link: `fd`, `pin` and
 * `unpin` raise UnsupportedError saying `why` (with `hint`).
 */
export function withoutLinkFd(
  base: Pick<LinkBackend, "destroy">,
  why: string,
  hint?: string,
): LinkBackend {
  const none = (what: string): never => {
    throw new UnsupportedError(`${what}: ${why}`, { hint });
  };
  return {
    destroy: base.destroy,
    fd: (what = "fd") => none(what),
    pin: () => none("pin"),
    unpin: () => none("unpin"),
  };
}

/**
 * A libbpf USDT link: one uprobe link per probe site, under a libbpf link
 * that has no kernel link of its own (libbpf leaves its fd 0), so it has
 * no fd to give out and cannot be pinned.
 */
export function usdtLinkBackend(link: Ptr): LinkBackend {
  return withoutLinkFd(
    libbpfLinkBackend(link),
    "a USDT link is one uprobe per probe site and has no link fd of its own",
    "it stays attached while the link is open; to keep a probe beyond this process, pin a map the program writes instead",
  );
}

/** A link fd from `bpf_link_create` (closing the last fd detaches it). */
export function fdLinkBackend(linkFd: number): LinkBackend {
  return {
    fd: () => linkFd,
    pin(path) {
      checkPinPath("bpf_obj_pin", path);
      // As libbpf's bpf_link__pin does (make_parent_dir): one level, 0700.
      try {
        mkdirSync(dirname(path), { mode: 0o700 });
      } catch {
        // exists already, or bpf_obj_pin reports why it cannot be made
      }
      clearLibbpfLog();
      const err = libbpf().bpf_obj_pin(linkFd, cstr(path));
      if (err < 0) throw bpfError("bpf_obj_pin", err, { kind: "pin", path });
    },
    unpin(path) {
      try {
        unlinkSync(path);
      } catch (e) {
        throw bpfError("unlink", (e as { errno?: number }).errno ?? 2, {
          kind: "pin",
          path,
        });
      }
    },
    destroy: () => void libc().close(linkFd),
  };
}

/** Destroys the backend of a link without an object, once the link is collected. */
function destroyBackend(backend: LinkBackend): void {
  backend.destroy();
}

/** Link types whose program BPF_LINK_UPDATE swaps (the kernel's update_prog). */
const UPDATABLE: ReadonlySet<string> = new Set([
  "cgroup",
  "iter",
  "netns",
  "xdp",
  "tcx",
  "netkit",
  "sockmap",
]);

/** An attached program: `close()` detaches it. Also `using link = ...`. */
export class BpfLink implements OwnedLink {
  #backend: LinkBackend | null;
  #owner: ObjectOwner | null;
  #pinned: string | null = null;
  #detached = false;
  /** Released once collected (see #guard). */
  #guarded = false;
  /** What it attaches, e.g. `tracepoint syscalls/sys_enter_getpid`. */
  readonly description: string;

  /** @internal Made by `BpfProgram.attach*()`; adopted by the program's object. */
  constructor(
    backend: LinkBackend,
    owner: ObjectOwner | null,
    description: string,
  ) {
    this.#backend = backend;
    this.#owner = owner;
    this.description = description;
    // An object's links close with it; one without is closed on its own.
    if (owner) owner.adoptLink(this);
    else trackOpen(this);
  }

  /**
   * A link without an object (opened from a pin) is released if dropped
   * unclosed while pinned or detached: closing its fd then changes
   * nothing in the kernel. Unpinned and attached, it is kept (leaked)
   * instead: garbage collection never detaches.
   */
  #guard(): void {
    const b = this.#backend;
    if (this.#owner || !b) return;
    const release = this.#pinned !== null || this.#detached;
    if (release && !this.#guarded) releaseOnCollect(this, b, destroyBackend);
    else if (!release && this.#guarded) cancelRelease(b);
    this.#guarded = release;
  }

  #live(what: string): LinkBackend {
    if (!this.#backend) {
      throw new ClosedError(`${what}: link (${this.description}) is closed`);
    }
    return this.#backend;
  }

  /** The link fd for call `what` (which errors name). */
  #fd(what: string): number {
    return this.#live(what).fd(what);
  }

  /** True once closed (by `close()` or by closing its object). */
  get closed(): boolean {
    return this.#backend === null;
  }

  /** The kernel link fd (owned by the link: do not close it). */
  get fd(): number {
    return this.#fd("fd");
  }

  /**
   * Opens the link pinned at `path` (by this or another process): to see
   * what it attaches, `update()` its program, `detach()` it, or `unpin()`
   * it. `close()` leaves it pinned and attached (so does dropping it: its
   * fd is closed once it is garbage-collected, unless it was unpinned).
   */
  static fromPinned(path: string): BpfLink {
    clearLibbpfLog();
    const fd = libbpf().bpf_obj_get(cstr(path));
    if (fd < 0) {
      throw bpfError(
        "bpf_obj_get",
        fd,
        { kind: "pin", path },
        { detail: `cannot open pinned link ${path}` },
      );
    }
    const kind = bpfFdKind(fd);
    if (kind !== undefined && kind !== "bpf-link") {
      libc().close(fd);
      throw new BpfTypeError(
        `${path} is ${describeFdKind(kind)} pinned on bpffs, not a link`,
      );
    }
    let type: string;
    try {
      type = linkInfo(fd).type;
    } catch (e) {
      libc().close(fd);
      throw e;
    }
    const link = new BpfLink(
      fdLinkBackend(fd),
      null,
      `pinned ${type} link ${path}`,
    );
    link.#pinned = path;
    link.#guard();
    return link;
  }

  /**
   * What the kernel reports: id, type, the attached program's id, and the
   * details of its type (`bpftool link show`), e.g. `if (info.type ===
   * "xdp") info.ifindex`.
   */
  info(): LinkInfo {
    return linkInfo(this.#fd("info"));
  }

  /** The kernel's id of this link (`bpftool link show id N`). */
  get id(): number {
    return linkInfo(this.#fd("id")).id;
  }

  /**
   * Swaps in another program of the same type and attach point, without a
   * moment detached (BPF_LINK_UPDATE): how a new version takes over.
   */
  update(program: { readonly fd: number }): void {
    const linkFd = this.#fd("update");
    const progFd = (program as { fd?: unknown } | null)?.fd;
    if (
      !(
        typeof progFd === "number" &&
        Number.isInteger(progFd) &&
        progFd >= 0 &&
        progFd <= 0x7fffffff
      )
    ) {
      throw new BpfTypeError(
        `update: give the new program (a loaded BpfProgram), got ${describeValue(program)}`,
      );
    }
    clearLibbpfLog();
    const err = libbpf().bpf_link_update(linkFd, progFd, null);
    if (err < 0) {
      let hint: string | undefined;
      // EINVAL: a link type without update_prog; EOPNOTSUPP: one whose
      // update_prog refuses (netfilter).
      if (-err === 22 || -err === 95) {
        const type = linkInfo(linkFd).type;
        hint = UPDATABLE.has(type)
          ? "the new program must have the same type and attach type as the old"
          : `a ${type} link cannot swap its program (cgroup, iter, netns, xdp, tcx, netkit and sockmap links can): attach the new program and close this link`;
      } else if (-err === 67) {
        hint = "the link was detached: attach the program anew";
      }
      throw bpfError("bpf_link_update", err, undefined, {
        detail: `link (${this.description})`,
        hint,
      });
    }
  }

  /**
   * Detaches the program now, pinned or not (BPF_LINK_DETACH); the link
   * stays open, attached to nothing, until closed.
   */
  detach(): void {
    const linkFd = this.#fd("detach");
    clearLibbpfLog();
    const err = libbpf().bpf_link_detach(linkFd);
    if (err < 0) {
      throw bpfError("bpf_link_detach", err, undefined, {
        detail: `link (${this.description})`,
        hint:
          -err === 95
            ? `a ${linkInfo(linkFd).type} link cannot be detached while open (cgroup, netns, xdp, tcx, netkit, netfilter and sockmap links can): unpin() and close() it`
            : undefined,
      });
    }
    this.#detached = true;
    this.#guard();
  }

  /** Where the link is pinned, or null. */
  get pinnedPath(): string | null {
    return this.#pinned;
  }

  /**
   * Pins the link on a bpf filesystem: it then stays attached after close
   * and after the process exits, until `unpin()` or `rm path`.
   */
  pin(path: string): void {
    const b = this.#live("pin");
    // A second pin would orphan the first: it keeps the link attached
    // after the process exits, and unpin() only knows the last.
    if (this.#pinned !== null) {
      throw new StateError(
        `pin: link (${this.description}) is pinned at ${this.#pinned} already: unpin() it first`,
      );
    }
    b.pin(path);
    this.#pinned = path;
    this.#guard();
  }

  /** Removes the pin (the link stays attached while this object is open). */
  unpin(): void {
    const b = this.#live("unpin");
    if (this.#pinned === null) return;
    b.unpin(this.#pinned);
    this.#pinned = null;
    this.#guard();
  }

  /**
   * Runs an iterator link (`attachIter()` of a `SEC("iter/...")` program)
   * once: a new iterator fd from `bpf_iter_create`, read to its end. Each
   * call walks the kernel objects afresh.
   */
  readBytes(): Uint8Array {
    const linkFd = this.#fd("readBytes");
    const c = libc();
    const iterFd = libbpf().bpf_iter_create(linkFd);
    if (iterFd < 0) {
      throw bpfError(
        "bpf_iter_create",
        iterFd,
        { kind: "other" },
        {
          log: "",
          detail: `link (${this.description}) is not an iterator`,
          hint: 'read() works on links from attachIter() of SEC("iter/...") programs',
        },
      );
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const buf = new Uint8Array(64 * 1024);
        const n = Number(c.read(iterFd, buf, buf.length));
        if (n < 0) {
          const e = errno();
          if (e === 4 /* EINTR */ || e === 11 /* EAGAIN */) continue;
          throw bpfError("read(iterator)", e, { kind: "other" }, { log: "" });
        }
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
      }
    } finally {
      c.close(iterFd);
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const ch of chunks) {
      out.set(ch, off);
      off += ch.length;
    }
    return out;
  }

  /** `readBytes()` decoded as UTF-8 (what `bpf_seq_printf` wrote). */
  read(): string {
    return new TextDecoder().decode(this.readBytes());
  }

  /** Detaches (unless pinned) and frees the link; idempotent. */
  close(): void {
    const b = this.#backend;
    if (!b) return;
    this.#backend = null;
    if (this.#guarded) cancelRelease(b);
    untrackOpen(this);
    this.#owner?.releaseLink(this);
    this.#owner = null;
    b.destroy();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Thrown by link backends that have no kernel link (tc via netlink). */
export function noLinkFd(what: string): never {
  throw new UnsupportedError(
    `${what}: tc filters attached through netlink have no link fd`,
    {
      hint: "use attachTcx() (kernel ≥ 6.6) for a tc link with an fd that can be pinned",
    },
  );
}
