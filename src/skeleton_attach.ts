/**
 * A skeleton's `attach()`, as libbpf's bpf_object__attach_skeleton: every
 * autoloaded program whose SEC() name gives its attach point is attached;
 * the others are left to the caller, each with the reason. A kernel that
 * refuses a program libbpf can attach on its own is an error, as in libbpf,
 * whatever its errno (EOPNOTSUPP included).
 */
import type { BpfLink } from "./link.ts";
import type { BpfObject } from "./object.ts";
import { BpfError, BpfTypeError } from "./errors.ts";
import { iterTargetOption } from "./iter.ts";
import { describeValue } from "./map_codecs.ts";

/**
 * A program `attach()` did not attach, and why; or, with `map` set, a
 * struct_ops table it did not register (`onError: "skip"` only).
 */
export interface SkippedProgram {
  /** Program name (a struct_ops table: its map name, as `map`). */
  readonly program: string;
  /** Its SEC() name (a struct_ops table: ".struct_ops" or ".struct_ops.link"). */
  readonly section: string;
  /** The struct_ops map whose registration the kernel refused. */
  readonly map?: string;
  /** Why it was not attached, and how to attach it. */
  readonly reason: string;
  /** The kernel's or libbpf's refusal (only with `onError: "skip"`). */
  readonly error?: BpfError;
}

/** Options of a skeleton's `attach()`. */
export interface SkeletonAttachOptions {
  /**
   * "throw" (default): a program or struct_ops table the kernel refuses
   * fails the whole call (the links made so far are closed), as libbpf's
   * attach_skeleton does. "skip": it is listed in `skipped` with its
   * error (a table with `map` set), and the rest attach.
   */
  readonly onError?: "throw" | "skip";
}

/**
 * The links `attach()` made (owned by the object), and what it skipped.
 * Disposable: `using links = skel.attach()` detaches them at the end of the
 * block (the object stays loaded, and `attach()` makes them again).
 */
export type SkeletonLinks<N extends string = string> = BpfLink[] & {
  /** Programs left for the caller to attach, in object order. */
  readonly skipped: readonly SkippedProgram[];
  /**
   * The same links by program name (and struct_ops table by map name), as
   * libbpf's `skel->links.<prog>`: `links.byName.handle_exec?.info()`.
   * A program with no link (skipped) is absent.
   */
  readonly byName: Readonly<Partial<Record<N, BpfLink>>>;
  /** Closes (detaches) every link in the list, also those an earlier call made; idempotent. */
  [Symbol.dispose](): void;
};

// errno (asm-generic/errno.h)
const EOPNOTSUPP = 95;
// A struct_ops map of SEC(".struct_ops.link") (uapi/linux/bpf.h).
const BPF_F_LINK = 1 << 13;

/**
 * SEC() prefixes libbpf (1.1 to 1.6) attaches on its own when a target
 * follows the slash (libbpf.c section_defs with an attach_fn; the bare
 * forms such as SEC("kprobe") or SEC("uprobe") it skips).
 */
const AUTO_ATTACH =
  /^(k(ret)?probe|u(ret)?probe(\.s)?|k(ret)?syscall|usdt(\.s)?|tp|tracepoint|raw_tp(\.w)?|raw_tracepoint(\.w)?|tp_btf|fentry(\.s)?|fexit(\.s)?|fmod_ret(\.s)?|freplace|lsm(\.s)?|iter(\.s)?|k(ret)?probe\.multi|u(ret)?probe\.multi(\.s)?|kprobe\.session|uprobe\.session(\.s)?)\/./;

/** True when libbpf attaches SEC(`section`) by itself: a failure is a refusal. */
export function autoAttaches(section: string): boolean {
  return AUTO_ATTACH.test(section);
}

/**
 * Attaches what `object`'s sections allow; see {@link SkeletonAttachOptions}.
 * `held`: the links earlier calls made, by program or map name; a program
 * or table whose link is still open keeps it (libbpf's attach_skeleton
 * skips a program whose link is set), and the new ones are added.
 */
export function attachSkeleton(
  object: BpfObject,
  held: Map<string, BpfLink>,
  options: SkeletonAttachOptions | undefined,
): SkeletonLinks {
  if (options !== undefined && (typeof options !== "object" || !options)) {
    throw new BpfTypeError(
      `attach: options are { onError?: "throw" | "skip" }, got ${describeValue(options)}`,
    );
  }
  const onError = options?.onError ?? "throw";
  if (onError !== "throw" && onError !== "skip") {
    throw new BpfTypeError(
      `attach: onError is "throw" or "skip", got ${describeValue(onError)}`,
    );
  }
  const links: BpfLink[] = [];
  // Names are BTF's, hostile maybe ("__proto__"): no prototype, defined.
  const byName = Object.create(null) as Record<string, BpfLink>;
  const named = (name: string, link: BpfLink) =>
    Object.defineProperty(byName, name, {
      value: link,
      enumerable: true,
    });
  const made: string[] = [];
  const skipped: SkippedProgram[] = [];
  const fail = (e: unknown): never => {
    for (const key of made) {
      held.get(key)!.close();
      held.delete(key);
    }
    throw e;
  };
  /** The open link of `name` (`kind` "program" or "map") from an earlier call, if any. */
  const kept = (kind: string, name: string): boolean => {
    const l = held.get(`${kind} ${name}`);
    if (!l || l.closed) return false;
    links.push(l);
    named(name, l);
    return true;
  };
  const add = (kind: string, name: string, link: BpfLink) => {
    const key = `${kind} ${name}`;
    held.set(key, link);
    made.push(key);
    links.push(link);
    named(name, link);
  };
  for (const p of object.programs) {
    const section = p.sectionName;
    if (!p.autoload) {
      skipped.push({ program: p.name, section, reason: "autoload is off" });
      continue;
    }
    if (!p.autoattach) {
      skipped.push({ program: p.name, section, reason: "autoattach is off" });
      continue;
    }
    // struct_ops programs run through their table, registered below.
    if (p.type === "struct_ops") continue;
    // libbpf attaches every iterator with no target, which the kernel
    // refuses for those that walk one map or start at one cgroup (EBADF,
    // EINVAL): such a program is the caller's to attach, as xdp is.
    const target = iterTargetOption(section);
    if (target === "map" || target === "cgroup") {
      const how = target === "map" ? "{ map }" : "{ cgroup: { path } }";
      skipped.push({
        program: p.name,
        section,
        reason: `SEC("${section}") walks a ${target} it cannot name: attach it with attachIter(${how})`,
      });
      continue;
    }
    if (kept("program", p.name)) continue;
    try {
      add("program", p.name, p.attach());
    } catch (e) {
      if (!(e instanceof BpfError)) fail(e);
      const err = e as BpfError;
      if (err.errno === EOPNOTSUPP && !autoAttaches(section)) {
        // libbpf has no attach point for this section (xdp, tc, cgroup,
        // a bare SEC("uprobe")...): the caller attaches it by hand.
        const reason = err.hint ?? `SEC("${section}") names no attach point`;
        skipped.push({ program: p.name, section, reason });
      } else if (onError === "skip") {
        skipped.push({
          program: p.name,
          section,
          reason: err.message,
          error: err,
        });
      } else {
        fail(err);
      }
    }
  }
  for (const m of object.maps) {
    if (m.type !== "struct_ops" || kept("map", m.name)) continue;
    try {
      add("map", m.name, m.attachStructOps());
    } catch (e) {
      // A kernel refusal (a congestion control of that name registered
      // already: EEXIST); not a state error such as a table unregistered
      // before, which the kernel never sees.
      if (!(e instanceof BpfError) || onError !== "skip") fail(e);
      const err = e as BpfError;
      skipped.push({
        program: m.name,
        map: m.name,
        section: m.flags & BPF_F_LINK ? ".struct_ops.link" : ".struct_ops",
        reason: err.message,
        error: err,
      });
    }
  }
  return Object.defineProperties(links, {
    skipped: { value: Object.freeze(skipped), enumerable: false },
    byName: { value: Object.freeze(byName), enumerable: false },
    [Symbol.dispose]: {
      value: () => {
        for (const l of links) l.close();
      },
      enumerable: false,
    },
  }) as SkeletonLinks;
}
