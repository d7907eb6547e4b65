/**
 * Netfilter links (kernel ≥ 6.4): a `SEC("netfilter")` program on one
 * hook of one protocol family, at a priority among the hook's other
 * functions (nftables chains, conntrack...). Made with BPF_LINK_CREATE
 * directly: libbpf 1.1's bpf_link_create drops the netfilter fields.
 */
import { bpfSyscall } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError } from "./errors.ts";
import { describeValue } from "./map_codecs.ts";
import { BPF_NETFILTER } from "./section_types.ts";

/** Options of `program.attachNetfilter()`. */
export interface NetfilterOptions {
  /** Protocol family: "ipv4" (NFPROTO_IPV4) or "ipv6" (NFPROTO_IPV6). */
  readonly family: "ipv4" | "ipv6";
  /** The hook: NF_INET_PRE_ROUTING ... NF_INET_POST_ROUTING. */
  readonly hook: NetfilterHook;
  /**
   * Where among the hook's functions it runs, lowest first (iptables'
   * filter table is at 0, conntrack at -200); not -2^31 or 2^31-1.
   */
  readonly priority: number;
  /** See whole (defragmented) IP packets: needs a priority above -400. */
  readonly defrag?: boolean;
}

/** enum nf_inet_hooks (uapi/linux/netfilter.h), by iptables' chain names. */
const HOOKS = {
  prerouting: 0,
  input: 1,
  forward: 2,
  output: 3,
  postrouting: 4,
} as const;

/** A netfilter hook, as iptables names its chain. */
export type NetfilterHook = keyof typeof HOOKS;

// NFPROTO_* (uapi/linux/netfilter.h)
const FAMILIES = { ipv4: 2, ipv6: 10 } as const;
// BPF_LINK_CREATE (enum bpf_cmd), BPF_F_NETFILTER_IP_DEFRAG (uapi/linux/bpf.h)
const BPF_LINK_CREATE = 28;
const BPF_F_NETFILTER_IP_DEFRAG = 1;
// NF_IP_PRI_CONNTRACK_DEFRAG (uapi/linux/netfilter_ipv4.h)
const PRI_CONNTRACK_DEFRAG = -400;
const ERANGE = 34;
const EBUSY = 16;
const EAFNOSUPPORT = 97;
const EOPNOTSUPP = 95;
// union bpf_attr's link_create up to netfilter { pf, hooknum, priority, flags }.
const ATTR_SIZE = 32;

/**
 * `options` checked, as a plain copy: each of the caller's getters runs
 * once, here, before the program's fd is read (a getter may close the
 * program's object, and its fd number be another program's by the call).
 */
export function checkNetfilterOptions(options: unknown): NetfilterOptions {
  if (typeof options !== "object" || options === null) {
    throw new BpfTypeError(
      `attachNetfilter needs options: { family, hook, priority, defrag? }, got ${describeValue(options)}`,
    );
  }
  const { family, hook, priority, defrag } = options as Record<string, unknown>;
  if (typeof family !== "string" || !Object.hasOwn(FAMILIES, family)) {
    throw new BpfTypeError(
      `attachNetfilter: family is "ipv4" or "ipv6", got ${describeValue(family)}`,
    );
  }
  if (typeof hook !== "string" || !Object.hasOwn(HOOKS, hook)) {
    throw new BpfTypeError(
      `attachNetfilter: hook is ${Object.keys(HOOKS)
        .map((h) => `"${h}"`)
        .join(", ")}, got ${describeValue(hook)}`,
    );
  }
  if (
    !(
      typeof priority === "number" &&
      Number.isInteger(priority) &&
      priority > -(2 ** 31) &&
      priority < 2 ** 31 - 1
    )
  ) {
    throw new BpfTypeError(
      `attachNetfilter: priority is an integer between -2^31 and 2^31-1 (both excluded: the kernel keeps them for its own first and last hooks), got ${describeValue(priority)}`,
    );
  }
  if (defrag !== undefined && typeof defrag !== "boolean") {
    throw new BpfTypeError(
      `attachNetfilter: defrag is true or false, got ${describeValue(defrag)}`,
    );
  }
  return {
    family: family as NetfilterOptions["family"],
    hook: hook as NetfilterHook,
    priority,
    defrag,
  };
}

/**
 * Links `progFd` to the hook of `o` (checked by `checkNetfilterOptions`);
 * returns the link fd.
 */
export function createNetfilterLink(
  progFd: number,
  o: NetfilterOptions,
  detail: string,
  wrongType: () => string | undefined,
): number {
  const p = o.priority;
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, progFd, true);
  v.setUint32(8, BPF_NETFILTER, true);
  v.setUint32(16, FAMILIES[o.family], true);
  v.setUint32(20, HOOKS[o.hook], true);
  v.setInt32(24, p, true);
  v.setUint32(28, o.defrag ? BPF_F_NETFILTER_IP_DEFRAG : 0, true);
  const fd = bpfSyscall(BPF_LINK_CREATE, attr);
  if (fd >= 0) return fd;
  const e = -fd;
  throw bpfError(
    "bpf(BPF_LINK_CREATE, netfilter)",
    e,
    { kind: "attach" },
    {
      log: "",
      detail,
      hint:
        wrongType() ??
        (e === EBUSY
          ? `${o.family}/${o.hook} has a BPF program at priority ${p} already (one per hook and priority): pick another priority`
          : e === ERANGE && o.defrag
            ? `a defrag hook runs after defragmentation: give a priority above ${PRI_CONNTRACK_DEFRAG} (NF_IP_PRI_CONNTRACK_DEFRAG)`
            : e === EOPNOTSUPP && o.defrag
              ? `this kernel cannot defragment ${o.family} for BPF (CONFIG_NF_DEFRAG_IPV${o.family === "ipv4" ? 4 : 6})`
              : e === EAFNOSUPPORT || e === 22
                ? "the kernel has no netfilter links (Linux ≥ 6.4 with CONFIG_NETFILTER_BPF_LINK)"
                : undefined),
    },
  );
}
