/**
 * Program types for SEC() names that libbpf learned after 1.1: tcx and
 * netkit (1.3), netfilter (1.2). libbpf 1.1 leaves such a program's type
 * unspecified and then fails the whole object's load ("missing BPF prog
 * type"); the kernel takes these programs as they are, so tsbpf sets the
 * type and expected attach type itself before load. A name libbpf does
 * not know at all gets a "did you mean" hint.
 */
import type { Ptr } from "../ffi/mod.ts";
import { libbpf } from "../ffi/mod.ts";
import { editDistance } from "./btf/edit_distance.ts";

// enum bpf_prog_type / enum bpf_attach_type (uapi/linux/bpf.h)
const SCHED_CLS = 3;
const NETFILTER = 32;
/** enum bpf_attach_type of the tcx hooks. */
export const BPF_TCX_INGRESS = 46;
/** enum bpf_attach_type of the tcx hooks. */
export const BPF_TCX_EGRESS = 47;
/** enum bpf_attach_type of a netfilter link. */
export const BPF_NETFILTER = 45;
const BPF_NETKIT_PRIMARY = 54;
const BPF_NETKIT_PEER = 55;

/** Section name → [program type, expected attach type], as libbpf ≥ 1.3 has them. */
const NEWER_SECTIONS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["tcx/ingress", [SCHED_CLS, BPF_TCX_INGRESS]],
  ["tc/ingress", [SCHED_CLS, BPF_TCX_INGRESS]],
  ["tcx/egress", [SCHED_CLS, BPF_TCX_EGRESS]],
  ["tc/egress", [SCHED_CLS, BPF_TCX_EGRESS]],
  ["netkit/primary", [SCHED_CLS, BPF_NETKIT_PRIMARY]],
  ["netkit/peer", [SCHED_CLS, BPF_NETKIT_PEER]],
  ["netfilter", [NETFILTER, BPF_NETFILTER]],
]);

/**
 * Gives program `prog` (in SEC(`section`)) its type when libbpf did not
 * know the section; a no-op for every section libbpf typed itself.
 */
export function typeNewerSection(prog: Ptr, section: string): void {
  const L = libbpf();
  if (L.bpf_program__type(prog) !== 0) return;
  const known = NEWER_SECTIONS.get(section);
  if (!known) return;
  L.bpf_program__set_type(prog, known[0]);
  L.bpf_program__set_expected_attach_type(prog, known[1]);
}

/**
 * The first parts of the SEC() names libbpf knows (1.1 and later), from
 * its section_defs table: what a misspelled one is compared with.
 */
const KNOWN_PREFIXES = [
  "socket",
  "sk_reuseport",
  "kprobe",
  "uprobe",
  "kretprobe",
  "uretprobe",
  "kprobe.multi",
  "kretprobe.multi",
  "kprobe.session",
  "uprobe.multi",
  "uretprobe.multi",
  "uprobe.s",
  "uretprobe.s",
  "ksyscall",
  "kretsyscall",
  "usdt",
  "usdt.s",
  "tc",
  "tcx",
  "netkit",
  "classifier",
  "action",
  "tracepoint",
  "tp",
  "raw_tracepoint",
  "raw_tp",
  "raw_tracepoint.w",
  "raw_tp.w",
  "tp_btf",
  "fentry",
  "fmod_ret",
  "fexit",
  "fentry.s",
  "fmod_ret.s",
  "fexit.s",
  "freplace",
  "lsm",
  "lsm.s",
  "lsm_cgroup",
  "iter",
  "iter.s",
  "syscall",
  "xdp",
  "xdp.frags",
  "perf_event",
  "lwt_in",
  "lwt_out",
  "lwt_xmit",
  "lwt_seg6local",
  "sockops",
  "sk_skb",
  "sk_msg",
  "lirc_mode2",
  "flow_dissector",
  "cgroup_skb",
  "cgroup",
  "struct_ops",
  "struct_ops.s",
  "sk_lookup",
  "netfilter",
];

/**
 * What to do about a program whose SEC() name libbpf could not type (its
 * load fails with "missing BPF prog type"): the likely intended name, or
 * where the names are listed.
 */
export function unknownSectionHint(
  section: string,
  program: string,
  libbpfVersion: string,
): string {
  const slash = section.indexOf("/");
  const head = slash < 0 ? section : section.slice(0, slash);
  let best: string | undefined;
  let bestDistance = 3; // more edits than that is not a misspelling
  for (const known of KNOWN_PREFIXES) {
    const d = editDistance(head, known, bestDistance);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  const what = `libbpf ${libbpfVersion} gives no program type to SEC("${section}") (program '${program}')`;
  return best !== undefined && best !== head
    ? `${what}: did you mean SEC("${best}${slash < 0 ? "" : "/..."}")?`
    : `${what}: check the name against libbpf's list (https://docs.kernel.org/bpf/libbpf/program_types.html); a name only newer libbpf knows needs that libbpf`;
}
