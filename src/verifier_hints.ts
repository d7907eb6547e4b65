/**
 * Hints for the verifier's most common rejections, picked from its log by
 * the message the kernel prints (kernel/bpf/verifier.c). Each one is
 * checked in test/kernel/errors.test.ts with a real rejected program
 * (fixtures/verifier_hints.bpf.c, fixtures/verifier_nogpl.bpf.c).
 */

interface Rule {
  readonly re: RegExp;
  readonly hint: (m: RegExpExecArray) => string;
  /**
   * The matched line states the reason better than the last line before
   * the summary (an infinite loop ends with the two states it compared).
   */
  readonly isReason?: boolean;
}

const RULES: readonly Rule[] = [
  {
    // "R0 invalid mem access 'map_value_or_null'", or a maybe-NULL pointer
    // handed to a helper: "R2 type=map_value_or_null expected=fp".
    re: /^R\d+ (?:invalid mem access '(\w+)_or_null'|type=(\w+)_or_null expected=)/m,
    hint: (m) =>
      (m[1] ?? m[2]) === "map_value"
        ? "check the result of bpf_map_lookup_elem (or the helper returning it) for NULL before using it: if (!value) return 0;"
        : `check the pointer the helper returned (a ${m[1] ?? m[2]} or NULL, e.g. from bpf_ringbuf_reserve or bpf_sk_lookup_tcp) for NULL before using it`,
  },
  {
    re: /^invalid access to packet|offset is outside of the packet$/m,
    hint: () =>
      "compare the end of what is read with the packet's end before reading: if (data + offset + size > data_end) return XDP_PASS; (data_end = (void *)(long)ctx->data_end)",
  },
  {
    re: /^Unreleased reference id=|would lead to reference leak$/m,
    hint: () =>
      "every path, early returns included, must release what it acquired: bpf_ringbuf_submit or bpf_ringbuf_discard a reserved record, bpf_sk_release a looked-up socket",
  },
  {
    re: /^infinite loop detected at insn \d+$/m,
    hint: () =>
      "the loop's state does not change between iterations, so it may never end: give it a constant upper bound, or use bpf_loop() for many iterations",
    isReason: true,
  },
  {
    re: /^(?:combined stack size of \d+ calls is \d+|stack size \d+)\. Too large$/m,
    hint: () =>
      "a BPF program has 512 bytes of stack for its whole call chain: keep large buffers in a one-entry BPF_MAP_TYPE_PERCPU_ARRAY map and work in its value",
  },
  {
    re: /^cannot call GPL-restricted function from non-GPL compatible program$/m,
    hint: () =>
      'this helper is GPL-only: declare a GPL-compatible license, char LICENSE[] SEC("license") = "GPL"; (or "Dual BSD/GPL", "Dual MIT/GPL")',
  },
];

/** A hint for the rejection `log` states, and the line naming it. */
export function verifierHint(
  log: string,
): { hint: string; reason?: string } | undefined {
  for (const r of RULES) {
    const m = r.re.exec(log);
    if (m) return { hint: r.hint(m), reason: r.isReason ? m[0] : undefined };
  }
  return undefined;
}
