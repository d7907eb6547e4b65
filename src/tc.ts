/**
 * tc (cls_bpf, direct-action) attachment with libbpf 1.1's netlink API:
 * bpf_tc_hook_create (clsact qdisc) + bpf_tc_attach. The link-like backend
 * detaches the filter on close and removes the clsact qdisc when tsbpf
 * created it and no other tsbpf filter uses it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { ifNameToIndex, libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError } from "./errors.ts";
import { describeValue } from "./map_codecs.ts";
import { type LinkBackend, noLinkFd } from "./link.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";

/** tc attach point. */
export type TcDirection = "ingress" | "egress";

// enum bpf_tc_attach_point (libbpf.h)
const BPF_TC_INGRESS = 1;
const BPF_TC_EGRESS = 2;
// sizeof(struct bpf_tc_hook) and sizeof(struct bpf_tc_opts) in libbpf 1.1
const HOOK_SIZE = 24;
const OPTS_SIZE = 32;
const EEXIST = 17;

// clsact qdiscs tsbpf created, by ifindex, with the number of our filters.
const hooks = new Map<number, { created: boolean; users: number }>();

function hookStruct(ifindex: number, point: number): Uint8Array {
  const b = new Uint8Array(HOOK_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(HOOK_SIZE), true);
  v.setInt32(8, ifindex, true);
  v.setUint32(12, point, true);
  return b;
}

function optsStruct(fields: {
  progFd?: number;
  handle?: number;
  priority?: number;
}): Uint8Array {
  const b = new Uint8Array(OPTS_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(OPTS_SIZE), true);
  v.setInt32(8, fields.progFd ?? 0, true);
  v.setUint32(20, fields.handle ?? 0, true);
  v.setUint32(24, fields.priority ?? 0, true);
  return b;
}

/** Options of a tc attachment. */
export interface TcOptions {
  /** Filter priority (1..65535); 0 lets the kernel pick. */
  readonly priority?: number;
  /** Filter handle; 0 lets the kernel pick. */
  readonly handle?: number;
}

/**
 * `options` checked as libbpf and the kernel take them (else
 * BpfTypeError), as a plain copy: each getter runs once, and what is
 * checked is what reaches libbpf (inherited getters too, which a spread
 * would drop).
 */
export function checkTcOptions(options: TcOptions): TcOptions {
  if (typeof options !== "object" || options === null) {
    throw new BpfTypeError(
      `attachTc: options are { priority?, handle? }, got ${describeValue(options)}`,
    );
  }
  const { priority, handle } = options;
  for (const [key, x, max, range] of [
    ["priority", priority, 0xffff, "0 to 65535"],
    ["handle", handle, 0xffffffff, "0 to 2^32-1"],
  ] as const) {
    if (x !== undefined && !(Number.isInteger(x) && x >= 0 && x <= max)) {
      throw new BpfTypeError(
        `attachTc: ${key} must be an integer from ${range} (0: the kernel picks), got ${describeValue(x)}`,
      );
    }
  }
  return { priority, handle };
}

/**
 * Attaches `progFd` as a direct-action tc filter with `options` (as
 * `checkTcOptions` returns them); returns the link backend whose
 * `destroy()` undoes it. A failure's message takes `explain.detail`, and
 * its hint `explain.hint(errno)`.
 */
export function attachTc(
  progFd: number,
  ifindex: number,
  direction: TcDirection,
  options: TcOptions = {},
  explain?: { detail: string; hint: (errno: number) => string | undefined },
): LinkBackend {
  const L = libbpf();
  const point = direction === "ingress" ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  const hook = hookStruct(ifindex, point);
  clearLibbpfLog();
  const created = L.bpf_tc_hook_create(hook);
  if (created < 0 && -created !== EEXIST) {
    throw bpfError(
      "bpf_tc_hook_create",
      created,
      { kind: "attach" },
      explain && { detail: explain.detail, hint: explain.hint(-created) },
    );
  }
  const state = hooks.get(ifindex) ?? { created: false, users: 0 };
  if (created === 0) state.created = true;
  hooks.set(ifindex, state);

  const opts = optsStruct({
    progFd,
    priority: options.priority,
    handle: options.handle,
  });
  const err = L.bpf_tc_attach(hook, opts);
  if (err < 0) {
    const e = bpfError(
      "bpf_tc_attach",
      err,
      { kind: "attach" },
      explain && { detail: explain.detail, hint: explain.hint(-err) },
    );
    release(ifindex);
    throw e;
  }
  state.users++;
  const v = new DataView(opts.buffer);
  const handle = v.getUint32(20, true);
  const priority = v.getUint32(24, true);
  return {
    fd: (what = "fd") => noLinkFd(what),
    pin: () => noLinkFd("pin"),
    unpin: () => noLinkFd("unpin"),
    destroy() {
      // bpf_tc_detach wants prog_fd, flags and prog_id zero: only the
      // handle and priority name the filter.
      L.bpf_tc_detach(hook, optsStruct({ handle, priority }));
      state.users--;
      release(ifindex);
    },
  };
}

function release(ifindex: number): void {
  const state = hooks.get(ifindex);
  if (!state || state.users > 0) return;
  hooks.delete(ifindex);
  if (state.created) {
    // Both points at once destroys the clsact qdisc itself (libbpf.h).
    libbpf().bpf_tc_hook_destroy(
      hookStruct(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS),
    );
  }
}

/**
 * A hint when no interface (of this network namespace) has index
 * `ifindex`, from /sys/class/net; undefined when one has or it is unknown.
 */
export function unknownIfindexHint(ifindex: number): string | undefined {
  let names: string[];
  try {
    names = readdirSync("/sys/class/net");
  } catch {
    return undefined;
  }
  for (const n of names) {
    try {
      if (
        Number(readFileSync(`/sys/class/net/${n}/ifindex`, "utf8")) === ifindex
      )
        return undefined;
    } catch {
      // gone meanwhile
    }
  }
  return `no network interface has index ${ifindex}: list them with \`ip link\` (the index is the number before the name)`;
}

/** Resolves an interface name or index; BpfError(ENODEV) for an unknown name. */
export function ifindexOf(ifnameOrIndex: string | number): number {
  if (typeof ifnameOrIndex === "number") {
    if (
      Number.isInteger(ifnameOrIndex) &&
      ifnameOrIndex > 0 &&
      ifnameOrIndex <= 0x7fffffff
    )
      return ifnameOrIndex;
    throw new BpfTypeError(
      `an interface index is a positive integer, got ${ifnameOrIndex}`,
    );
  }
  if (typeof ifnameOrIndex !== "string") {
    throw new BpfTypeError(
      `expected an interface name or index, got ${ifnameOrIndex === null ? "null" : typeof ifnameOrIndex}`,
    );
  }
  const idx = ifNameToIndex(ifnameOrIndex);
  if (!idx) {
    throw bpfError(
      "if_nametoindex",
      19,
      { kind: "other" },
      {
        detail: `no network interface '${ifnameOrIndex}'`,
        hint: "list interfaces with `ip link`",
      },
    );
  }
  return idx;
}
