/**
 * Program types for SEC() names that libbpf learned after 1.1: tcx and
 * netkit (1.3), netfilter (1.2). libbpf 1.1 leaves such a program's type
 * unspecified and then fails the whole object's load ("missing BPF prog
 * type"); the kernel takes these programs as they are, so tsbpf sets the
 * type and expected attach type itself before load.
 */
import type { Ptr } from "../ffi/mod.ts";
import { libbpf } from "../ffi/mod.ts";

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
