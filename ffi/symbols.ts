/**
 * The one neutral symbol table of tsbpf: every libbpf and libc function the
 * library calls, described once in runtime-neutral types. `ffi/bun.ts` and
 * `ffi/deno.ts` translate it to `bun:ffi` / `Deno.dlopen` definitions.
 *
 * Types:
 * - `i32` `u32` `u8` → number; `i64` `u64` `usize` → number | bigint in,
 *   number out (every 64-bit result we call fits in 2^53);
 * - `bool` → boolean;
 * - `ptr` → an opaque {@link Ptr} (or null) handed out by native code;
 * - `buf` → a `Uint8Array` (or a cached {@link BufArg}) the callee reads or
 *   writes; C strings are passed as NUL-terminated `buf`s (see `cstr()`).
 *
 * Symbols with `since` are newer than libbpf 1.1 (the oldest we support):
 * each is looked up on its own, and calling one that the installed libbpf
 * lacks throws `UnsupportedError("... needs libbpf ≥ since")`.
 *
 * `name` lets a key alias a C symbol with a different signature (e.g. a
 * `nonblocking` variant for Deno). Nothing else in tsbpf declares symbols.
 */

/** A native type as the table spells it. */
export type NativeType =
  | "void"
  | "bool"
  | "u8"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "f64"
  | "ptr"
  | "buf";

/** One native function. */
export interface SymbolDef {
  /** Parameter types. */
  readonly args: readonly NativeType[];
  /** Result type. */
  readonly result: NativeType;
  /** C symbol name when it differs from the table key. */
  readonly name?: string;
  /** First libbpf version that has it ("1.3"); absent → required (≤ 1.1). */
  readonly since?: string;
  /**
   * Deno: run on a worker thread and return a Promise. Bun has no such mode:
   * there the call runs synchronously (check `runtime.nonblockingCalls`).
   */
  readonly nonblocking?: boolean;
}

/** libbpf (libbpf.so.1). */
export const LIBBPF = {
  // --- object ---------------------------------------------------------------
  /** (path: cstr, opts: bpf_object_open_opts*) → bpf_object* */
  bpf_object__open_file: { args: ["buf", "buf"], result: "ptr" },
  /** (obj_buf, obj_buf_sz, opts) → bpf_object* */
  bpf_object__open_mem: { args: ["buf", "usize", "buf"], result: "ptr" },
  bpf_object__load: { args: ["ptr"], result: "i32" },
  bpf_object__close: { args: ["ptr"], result: "void" },
  bpf_object__name: { args: ["ptr"], result: "ptr" },
  bpf_object__next_program: { args: ["ptr", "ptr"], result: "ptr" },
  bpf_object__next_map: { args: ["ptr", "ptr"], result: "ptr" },
  bpf_object__find_program_by_name: { args: ["ptr", "buf"], result: "ptr" },
  bpf_object__find_map_by_name: { args: ["ptr", "buf"], result: "ptr" },
  bpf_object__btf: { args: ["ptr"], result: "ptr" },
  bpf_object__btf_fd: { args: ["ptr"], result: "i32" },
  bpf_object__pin_maps: { args: ["ptr", "buf"], result: "i32" },
  bpf_object__unpin_maps: { args: ["ptr", "buf"], result: "i32" },
  bpf_object__pin_programs: { args: ["ptr", "buf"], result: "i32" },
  bpf_object__unpin_programs: { args: ["ptr", "buf"], result: "i32" },
  /** (obj) → int; libbpf 1.6 split of load into prepare + load. */
  bpf_object__prepare: { args: ["ptr"], result: "i32", since: "1.6" },
  /** (btf, __u32 *size) → const void* */
  btf__raw_data: { args: ["ptr", "buf"], result: "ptr" },
  btf__free: { args: ["ptr"], result: "void" },
  /** (btf object id) → struct btf*: a map's BTF, e.g. for a pinned map. */
  btf__load_from_kernel_by_id: { args: ["u32"], result: "ptr" },
  /** (raw BTF, size, opts) → BTF object fd: a standalone map's types. */
  bpf_btf_load: { args: ["buf", "usize", "buf"], result: "i32" },

  // --- program ----------------------------------------------------------------
  bpf_program__name: { args: ["ptr"], result: "ptr" },
  bpf_program__section_name: { args: ["ptr"], result: "ptr" },
  bpf_program__type: { args: ["ptr"], result: "u32" },
  bpf_program__set_type: { args: ["ptr", "u32"], result: "i32" },
  bpf_program__expected_attach_type: { args: ["ptr"], result: "u32" },
  bpf_program__set_expected_attach_type: {
    args: ["ptr", "u32"],
    result: "i32",
  },
  bpf_program__fd: { args: ["ptr"], result: "i32" },
  bpf_program__autoload: { args: ["ptr"], result: "bool" },
  bpf_program__set_autoload: { args: ["ptr", "bool"], result: "i32" },
  bpf_program__autoattach: { args: ["ptr"], result: "bool" },
  bpf_program__set_autoattach: { args: ["ptr", "bool"], result: "void" },
  bpf_program__insn_cnt: { args: ["ptr"], result: "usize" },
  /** (prog, char *log_buf, size_t log_size) → int */
  bpf_program__set_log_buf: { args: ["ptr", "buf", "usize"], result: "i32" },
  bpf_program__set_log_level: { args: ["ptr", "u32"], result: "i32" },
  bpf_program__log_level: { args: ["ptr"], result: "u32" },
  bpf_program__set_attach_target: {
    args: ["ptr", "i32", "buf"],
    result: "i32",
  },
  bpf_program__pin: { args: ["ptr", "buf"], result: "i32" },
  bpf_program__unpin: { args: ["ptr", "buf"], result: "i32" },
  /** (prog) → bpf_link*; by section name (SEC("tp/..."), "xdp", ...). */
  bpf_program__attach: { args: ["ptr"], result: "ptr" },
  /** (prog, category, name) → bpf_link* */
  bpf_program__attach_tracepoint: {
    args: ["ptr", "buf", "buf"],
    result: "ptr",
  },
  bpf_program__attach_raw_tracepoint: { args: ["ptr", "buf"], result: "ptr" },
  /** (prog, bool retprobe, func_name) → bpf_link* */
  bpf_program__attach_kprobe: { args: ["ptr", "bool", "buf"], result: "ptr" },
  /** (prog, func_name, bpf_kprobe_opts*) → bpf_link* */
  bpf_program__attach_kprobe_opts: {
    args: ["ptr", "buf", "buf"],
    result: "ptr",
  },
  bpf_program__attach_kprobe_multi_opts: {
    args: ["ptr", "buf", "buf"],
    result: "ptr",
  },
  bpf_program__attach_ksyscall: { args: ["ptr", "buf", "buf"], result: "ptr" },
  /** (prog, bool retprobe, pid, binary_path, func_offset) → bpf_link* */
  bpf_program__attach_uprobe: {
    args: ["ptr", "bool", "i32", "buf", "usize"],
    result: "ptr",
  },
  /** (prog, pid, binary_path, func_offset, bpf_uprobe_opts*) → bpf_link* */
  bpf_program__attach_uprobe_opts: {
    args: ["ptr", "i32", "buf", "usize", "buf"],
    result: "ptr",
  },
  /** (prog, pid, path, func_pattern, bpf_uprobe_multi_opts*) → bpf_link* */
  bpf_program__attach_uprobe_multi: {
    args: ["ptr", "i32", "buf", "buf", "buf"],
    result: "ptr",
    since: "1.3",
  },
  /** (prog, pid, binary_path, provider, name, bpf_usdt_opts*) → bpf_link* */
  bpf_program__attach_usdt: {
    args: ["ptr", "i32", "buf", "buf", "buf", "buf"],
    result: "ptr",
  },
  bpf_program__attach_trace: { args: ["ptr"], result: "ptr" },
  bpf_program__attach_trace_opts: { args: ["ptr", "buf"], result: "ptr" },
  bpf_program__attach_lsm: { args: ["ptr"], result: "ptr" },
  bpf_program__attach_xdp: { args: ["ptr", "i32"], result: "ptr" },
  /** (prog, ifindex, bpf_tcx_opts*) → bpf_link* */
  bpf_program__attach_tcx: {
    args: ["ptr", "i32", "buf"],
    result: "ptr",
    since: "1.3",
  },
  bpf_program__attach_netkit: {
    args: ["ptr", "i32", "buf"],
    result: "ptr",
    since: "1.3",
  },
  bpf_program__attach_netfilter: {
    args: ["ptr", "buf"],
    result: "ptr",
    since: "1.3",
  },
  bpf_program__attach_sockmap: {
    args: ["ptr", "i32"],
    result: "ptr",
    since: "1.5",
  },
  bpf_program__attach_cgroup: { args: ["ptr", "i32"], result: "ptr" },
  bpf_program__attach_netns: { args: ["ptr", "i32"], result: "ptr" },
  bpf_program__attach_perf_event: { args: ["ptr", "i32"], result: "ptr" },
  bpf_program__attach_perf_event_opts: {
    args: ["ptr", "i32", "buf"],
    result: "ptr",
  },
  /** (prog, bpf_iter_attach_opts* | NULL) → bpf_link* */
  bpf_program__attach_iter: { args: ["ptr", "buf"], result: "ptr" },
  bpf_program__attach_freplace: { args: ["ptr", "i32", "buf"], result: "ptr" },

  // --- link ---------------------------------------------------------------------
  bpf_link__fd: { args: ["ptr"], result: "i32" },
  bpf_link__destroy: { args: ["ptr"], result: "i32" },
  bpf_link__detach: { args: ["ptr"], result: "i32" },
  bpf_link__disconnect: { args: ["ptr"], result: "void" },
  bpf_link__pin: { args: ["ptr", "buf"], result: "i32" },
  bpf_link__unpin: { args: ["ptr"], result: "i32" },
  bpf_link__pin_path: { args: ["ptr"], result: "ptr" },
  bpf_link__open: { args: ["buf"], result: "ptr" },
  bpf_link__update_program: { args: ["ptr", "ptr"], result: "i32" },
  /** (prog_fd, target_fd, enum bpf_attach_type, bpf_link_create_opts*) → fd */
  bpf_link_create: { args: ["i32", "i32", "u32", "buf"], result: "i32" },
  bpf_link_detach: { args: ["i32"], result: "i32" },
  bpf_link_update: { args: ["i32", "i32", "buf"], result: "i32" },
  bpf_iter_create: { args: ["i32"], result: "i32" },
  /** (prog_fd, target_fd, enum bpf_attach_type, flags) → int */
  bpf_prog_attach: { args: ["i32", "i32", "u32", "u32"], result: "i32" },
  bpf_prog_detach2: { args: ["i32", "i32", "u32"], result: "i32" },

  // --- tc (libbpf ≥ 0.4 netlink API) and xdp --------------------------------------
  /** (bpf_tc_hook*) → int; -EEXIST when the clsact qdisc is already there. */
  bpf_tc_hook_create: { args: ["buf"], result: "i32" },
  bpf_tc_hook_destroy: { args: ["buf"], result: "i32" },
  /** (bpf_tc_hook*, bpf_tc_opts*) → int; fills handle/priority/prog_id. */
  bpf_tc_attach: { args: ["buf", "buf"], result: "i32" },
  bpf_tc_detach: { args: ["buf", "buf"], result: "i32" },
  bpf_tc_query: { args: ["buf", "buf"], result: "i32" },
  /** (ifindex, prog_fd, flags, bpf_xdp_attach_opts*) → int */
  bpf_xdp_attach: { args: ["i32", "i32", "u32", "buf"], result: "i32" },
  bpf_xdp_detach: { args: ["i32", "u32", "buf"], result: "i32" },
  bpf_xdp_query_id: { args: ["i32", "i32", "buf"], result: "i32" },

  // --- map (object-owned, libbpf's struct bpf_map) ------------------------------------
  bpf_map__name: { args: ["ptr"], result: "ptr" },
  bpf_map__type: { args: ["ptr"], result: "u32" },
  bpf_map__set_type: { args: ["ptr", "u32"], result: "i32" },
  bpf_map__fd: { args: ["ptr"], result: "i32" },
  bpf_map__key_size: { args: ["ptr"], result: "u32" },
  bpf_map__set_key_size: { args: ["ptr", "u32"], result: "i32" },
  bpf_map__value_size: { args: ["ptr"], result: "u32" },
  bpf_map__set_value_size: { args: ["ptr", "u32"], result: "i32" },
  bpf_map__max_entries: { args: ["ptr"], result: "u32" },
  bpf_map__set_max_entries: { args: ["ptr", "u32"], result: "i32" },
  bpf_map__map_flags: { args: ["ptr"], result: "u32" },
  bpf_map__set_map_flags: { args: ["ptr", "u32"], result: "i32" },
  bpf_map__map_extra: { args: ["ptr"], result: "u64" },
  bpf_map__set_map_extra: { args: ["ptr", "u64"], result: "i32" },
  bpf_map__numa_node: { args: ["ptr"], result: "u32" },
  bpf_map__ifindex: { args: ["ptr"], result: "u32" },
  bpf_map__btf_key_type_id: { args: ["ptr"], result: "u32" },
  bpf_map__btf_value_type_id: { args: ["ptr"], result: "u32" },
  bpf_map__set_pin_path: { args: ["ptr", "buf"], result: "i32" },
  bpf_map__pin_path: { args: ["ptr"], result: "ptr" },
  bpf_map__is_pinned: { args: ["ptr"], result: "bool" },
  bpf_map__pin: { args: ["ptr", "buf"], result: "i32" },
  bpf_map__unpin: { args: ["ptr", "buf"], result: "i32" },
  bpf_map__reuse_fd: { args: ["ptr", "i32"], result: "i32" },
  bpf_map__autocreate: { args: ["ptr"], result: "bool" },
  bpf_map__set_autocreate: { args: ["ptr", "bool"], result: "i32" },
  bpf_map__inner_map: { args: ["ptr"], result: "ptr" },
  bpf_map__attach_struct_ops: { args: ["ptr"], result: "ptr" },
  bpf_map__set_inner_map_fd: { args: ["ptr", "i32"], result: "i32" },
  /** (map, size_t *psize) → void*: libbpf's own copy of .data/.bss/.rodata. */
  bpf_map__initial_value: { args: ["ptr", "buf"], result: "ptr" },
  bpf_map__set_initial_value: { args: ["ptr", "buf", "usize"], result: "i32" },
  /** (map, key, key_sz, value, value_sz, flags) → int */
  bpf_map__lookup_elem: {
    args: ["ptr", "buf", "usize", "buf", "usize", "u64"],
    result: "i32",
  },
  bpf_map__update_elem: {
    args: ["ptr", "buf", "usize", "buf", "usize", "u64"],
    result: "i32",
  },
  bpf_map__delete_elem: {
    args: ["ptr", "buf", "usize", "u64"],
    result: "i32",
  },
  bpf_map__lookup_and_delete_elem: {
    args: ["ptr", "buf", "usize", "buf", "usize", "u64"],
    result: "i32",
  },
  bpf_map__get_next_key: {
    args: ["ptr", "buf", "buf", "usize"],
    result: "i32",
  },

  // --- map (fd-level syscall wrappers) --------------------------------------------
  /** (enum bpf_map_type, name, key_size, value_size, max_entries, opts) → fd */
  bpf_map_create: {
    args: ["u32", "buf", "u32", "u32", "u32", "buf"],
    result: "i32",
  },
  /** (fd, key, value) → int. Hot path: all args are fast in both runtimes. */
  bpf_map_lookup_elem: { args: ["i32", "buf", "buf"], result: "i32" },
  bpf_map_lookup_elem_flags: {
    args: ["i32", "buf", "buf", "u64"],
    result: "i32",
  },
  /** (fd, key, value, __u64 flags) → int */
  bpf_map_update_elem: { args: ["i32", "buf", "buf", "u64"], result: "i32" },
  /**
   * bpf_map_update_elem with `flags` declared u32: Deno calls with a u64
   * parameter take a slow path (~+200 ns). Map flags (BPF_ANY/NOEXIST/EXIST/
   * F_LOCK) fit in 32 bits, and both runtimes' trampolines zero-extend a u32
   * into the 64-bit argument register.
   */
  bpf_map_update_elem_u32: {
    name: "bpf_map_update_elem",
    args: ["i32", "buf", "buf", "u32"],
    result: "i32",
  },
  bpf_map_delete_elem: { args: ["i32", "buf"], result: "i32" },
  bpf_map_delete_elem_flags: { args: ["i32", "buf", "u64"], result: "i32" },
  bpf_map_get_next_key: { args: ["i32", "buf", "buf"], result: "i32" },
  bpf_map_lookup_and_delete_elem: {
    args: ["i32", "buf", "buf"],
    result: "i32",
  },
  bpf_map_lookup_and_delete_elem_flags: {
    args: ["i32", "buf", "buf", "u64"],
    result: "i32",
  },
  bpf_map_freeze: { args: ["i32"], result: "i32" },
  /** (fd, in_batch, out_batch, keys, values, __u32 *count, bpf_map_batch_opts*) */
  bpf_map_lookup_batch: {
    args: ["i32", "buf", "buf", "buf", "buf", "buf", "buf"],
    result: "i32",
  },
  bpf_map_lookup_and_delete_batch: {
    args: ["i32", "buf", "buf", "buf", "buf", "buf", "buf"],
    result: "i32",
  },
  /** (fd, keys, values, __u32 *count, opts) */
  bpf_map_update_batch: {
    args: ["i32", "buf", "buf", "buf", "buf"],
    result: "i32",
  },
  /** (fd, keys, __u32 *count, opts) */
  bpf_map_delete_batch: { args: ["i32", "buf", "buf", "buf"], result: "i32" },

  // --- fds, pins, info, ids --------------------------------------------------------
  bpf_obj_pin: { args: ["i32", "buf"], result: "i32" },
  bpf_obj_get: { args: ["buf"], result: "i32" },
  /** (fd, void *info, __u32 *info_len) → int */
  bpf_obj_get_info_by_fd: { args: ["i32", "buf", "buf"], result: "i32" },
  bpf_map_get_info_by_fd: {
    args: ["i32", "buf", "buf"],
    result: "i32",
    since: "1.2",
  },
  bpf_prog_get_info_by_fd: {
    args: ["i32", "buf", "buf"],
    result: "i32",
    since: "1.2",
  },
  bpf_link_get_info_by_fd: {
    args: ["i32", "buf", "buf"],
    result: "i32",
    since: "1.2",
  },
  bpf_prog_get_fd_by_id: { args: ["u32"], result: "i32" },
  bpf_btf_get_fd_by_id: { args: ["u32"], result: "i32" },
  bpf_map_get_fd_by_id: { args: ["u32"], result: "i32" },
  bpf_link_get_fd_by_id: { args: ["u32"], result: "i32" },
  bpf_prog_get_next_id: { args: ["u32", "buf"], result: "i32" },
  /** (enum bpf_stats_type) → fd; statistics stay on while it is open. */
  bpf_enable_stats: { args: ["i32"], result: "i32" },
  bpf_map_get_next_id: { args: ["u32", "buf"], result: "i32" },
  bpf_link_get_next_id: { args: ["u32", "buf"], result: "i32" },
  /** (prog_fd, bpf_test_run_opts*) → int */
  bpf_prog_test_run_opts: { args: ["i32", "buf"], result: "i32" },

  // --- library ---------------------------------------------------------------------
  libbpf_num_possible_cpus: { args: [], result: "i32" },
  /** (err, char *buf, size_t size) → int */
  libbpf_strerror: { args: ["i32", "buf", "usize"], result: "i32" },
  /** (libbpf_print_fn_t) → previous fn */
  libbpf_set_print: { args: ["ptr"], result: "ptr" },
  libbpf_major_version: { args: [], result: "u32" },
  libbpf_minor_version: { args: [], result: "u32" },
  libbpf_version_string: { args: [], result: "ptr" },
  libbpf_probe_bpf_prog_type: { args: ["u32", "ptr"], result: "i32" },
  libbpf_probe_bpf_map_type: { args: ["u32", "ptr"], result: "i32" },
  libbpf_probe_bpf_helper: { args: ["u32", "u32", "ptr"], result: "i32" },

  // --- BPF ring buffer (see CALLBACKS.ring_buffer_sample) ----------------------------
  /** (map_fd, sample_cb, ctx, ring_buffer_opts*) → ring_buffer* */
  ring_buffer__new: { args: ["i32", "ptr", "ptr", "buf"], result: "ptr" },
  ring_buffer__add: { args: ["ptr", "i32", "ptr", "ptr"], result: "i32" },
  /** (rb, timeout_ms) → records consumed or -errno. Blocks: see _nb. */
  ring_buffer__poll: { args: ["ptr", "i32"], result: "i32" },
  ring_buffer__consume: { args: ["ptr"], result: "i32" },
  ring_buffer__free: { args: ["ptr"], result: "void" },
  ring_buffer__epoll_fd: { args: ["ptr"], result: "i32" },
  ring_buffer__consume_n: {
    args: ["ptr", "usize"],
    result: "i32",
    since: "1.5",
  },
  ring_buffer__ring: { args: ["ptr", "u32"], result: "ptr", since: "1.3" },
  ring__consume: { args: ["ptr"], result: "i32", since: "1.3" },
  ring__consumer_pos: { args: ["ptr"], result: "u64", since: "1.3" },
  ring__producer_pos: { args: ["ptr"], result: "u64", since: "1.3" },
  ring__avail_data_size: { args: ["ptr"], result: "usize", since: "1.3" },
  ring__size: { args: ["ptr"], result: "usize", since: "1.3" },
  ring__map_fd: { args: ["ptr"], result: "i32", since: "1.3" },

  // --- perf buffer (see CALLBACKS.perf_buffer_sample / perf_buffer_lost) -------------
  /** (map_fd, page_cnt, sample_cb, lost_cb, ctx, perf_buffer_opts*) → perf_buffer* */
  perf_buffer__new: {
    args: ["i32", "usize", "ptr", "ptr", "ptr", "buf"],
    result: "ptr",
  },
  perf_buffer__poll: { args: ["ptr", "i32"], result: "i32" },
  perf_buffer__consume: { args: ["ptr"], result: "i32" },
  perf_buffer__consume_buffer: { args: ["ptr", "usize"], result: "i32" },
  perf_buffer__free: { args: ["ptr"], result: "void" },
  perf_buffer__epoll_fd: { args: ["ptr"], result: "i32" },
  perf_buffer__buffer_cnt: { args: ["ptr"], result: "usize" },
  perf_buffer__buffer_fd: { args: ["ptr", "usize"], result: "i32" },
  /** (pb, buf_idx, void **buf, size_t *buf_size) → int */
  perf_buffer__buffer: { args: ["ptr", "i32", "buf", "buf"], result: "i32" },
} as const satisfies Record<string, SymbolDef>;

/**
 * The libbpf functions that never print: bpf.c's thin syscall wrappers
 * (no pr_warn/pr_debug there, libbpf 1.1 to 1.6), the frees of objects,
 * links and readers, the version queries and libbpf_strerror. Any JavaScript thread may call them, whether it holds
 * libbpf's print function or not (ffi/mod.ts); every other one may print,
 * that is call the holding thread's JS callback, so only the holder may.
 */
export const LIBBPF_QUIET: ReadonlySet<string> = new Set<keyof typeof LIBBPF>([
  "bpf_btf_get_fd_by_id",
  "bpf_btf_load",
  "bpf_enable_stats",
  "bpf_iter_create",
  "bpf_link_create",
  "bpf_link_detach",
  "bpf_link_get_fd_by_id",
  "bpf_link_get_info_by_fd",
  "bpf_link_get_next_id",
  "bpf_link_update",
  "bpf_map_create",
  "bpf_map_delete_batch",
  "bpf_map_delete_elem",
  "bpf_map_delete_elem_flags",
  "bpf_map_freeze",
  "bpf_map_get_fd_by_id",
  "bpf_map_get_info_by_fd",
  "bpf_map_get_next_id",
  "bpf_map_get_next_key",
  "bpf_map_lookup_and_delete_batch",
  "bpf_map_lookup_and_delete_elem",
  "bpf_map_lookup_and_delete_elem_flags",
  "bpf_map_lookup_batch",
  "bpf_map_lookup_elem",
  "bpf_map_lookup_elem_flags",
  "bpf_map_update_batch",
  "bpf_map_update_elem",
  "bpf_obj_get",
  "bpf_obj_get_info_by_fd",
  "bpf_obj_pin",
  "bpf_prog_attach",
  "bpf_prog_detach2",
  "bpf_prog_get_fd_by_id",
  "bpf_prog_get_info_by_fd",
  "bpf_prog_get_next_id",
  "bpf_prog_test_run_opts",
  // The frees behind close(), which must work while another thread holds
  // libbpf (after this one's closeAll()): nothing they reach prints but
  // perf_buffer__free's warning that munmap of its own rings failed.
  "bpf_link__destroy",
  "bpf_object__close",
  "perf_buffer__free",
  "ring_buffer__free",
  "libbpf_strerror",
  "libbpf_major_version",
  "libbpf_minor_version",
  "libbpf_version_string",
  "libbpf_set_print",
]);

/** The few libc calls tsbpf needs (libc.so.6). */
export const LIBC = {
  /** Thread-local errno's address. */
  __errno_location: { args: [], result: "ptr" },
  strerror: { args: ["i32"], result: "ptr" },
  getpid: { args: [], result: "i32" },
  /** The effective uid, without Deno's --allow-sys (process.getuid needs it). */
  geteuid: { args: [], result: "u32" },
  /** What the tests' exact syscall counts trigger: no runtime calls it on its own. */
  getppid: { args: [], result: "i32" },
  getpagesize: { args: [], result: "i32" },
  /**
   * (addr, length, prot, flags, fd, offset) → address. Declared u64, not
   * ptr, so MAP_FAILED ((void*)-1) survives exactly; use `mmap()` in ffi/mod.ts.
   */
  mmap: { args: ["ptr", "usize", "i32", "i32", "i32", "i64"], result: "u64" },
  munmap: { args: ["ptr", "usize"], result: "i32" },
  /** (path, flags, mode) → fd */
  open: { args: ["buf", "i32", "u32"], result: "i32" },
  close: { args: ["i32"], result: "i32" },
  dup: { args: ["i32"], result: "i32" },
  /** fcntl(fd, cmd, int arg): the int-argument commands (F_DUPFD_CLOEXEC). */
  fcntl: { args: ["i32", "i32", "i32"], result: "i32" },
  read: { args: ["i32", "buf", "usize"], result: "i64" },
  write: { args: ["i32", "buf", "usize"], result: "i64" },
  /** (initval, flags) → fd */
  eventfd: { args: ["u32", "i32"], result: "i32" },
  epoll_create1: { args: ["i32"], result: "i32" },
  /** (epfd, op, fd, struct epoll_event*) — epoll_event is 12 bytes, packed on x86_64. */
  epoll_ctl: { args: ["i32", "i32", "i32", "buf"], result: "i32" },
  /** (epfd, events, maxevents, timeout_ms) → n; blocks the calling thread. */
  epoll_wait: { args: ["i32", "buf", "i32", "i32"], result: "i32" },
  /**
   * epoll_wait on a Deno worker thread → Promise<number>. A pending call
   * keeps Deno alive: add an eventfd to the set and write it on close.
   */
  epoll_wait_nb: {
    name: "epoll_wait",
    args: ["i32", "buf", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /**
   * perf_event_open(attr, pid, cpu, group_fd, flags) through syscall(2):
   * pass SYS_perf_event_open (298 on x86_64, 241 on arm64) first.
   */
  syscall_perf_event_open: {
    name: "syscall",
    args: ["i64", "buf", "i32", "i32", "i32", "u64"],
    result: "i64",
  },
  /**
   * bpf(cmd, attr, size) through syscall(2), for commands libbpf 1.1 has
   * no wrapper for: pass SYS_bpf (321 on x86_64, 280 on arm64) first.
   */
  syscall_bpf: {
    name: "syscall",
    args: ["i64", "i64", "buf", "u64"],
    result: "i64",
  },
  if_nametoindex: { args: ["buf"], result: "u32" },
  /** The process-wide record of the thread holding libbpf (ffi/mod.ts). */
  getenv: { args: ["buf"], result: "ptr" },
  setenv: { args: ["buf", "buf", "i32"], result: "i32" },
  /** (str, size, fmt, va_list): on x86_64 a va_list is a pointer to a 24-byte struct. */
  vsnprintf: { args: ["buf", "usize", "ptr", "buf"], result: "i32" },
  /** memcpy(dst buffer, src native pointer, n): copy native memory out. */
  memcpy_from: { name: "memcpy", args: ["buf", "ptr", "usize"], result: "ptr" },
  /** memcpy(dst native pointer, src buffer, n): copy into native memory. */
  memcpy_to: { name: "memcpy", args: ["ptr", "buf", "usize"], result: "ptr" },
} as const satisfies Record<string, SymbolDef>;

/**
 * What a Bun waiter's Worker calls (event_wait_worker.ts): each Worker
 * loads its own table, and Bun keeps a loaded table's compiled call stubs
 * after the Worker ends, so the table is kept to these two (the whole LIBC
 * cost ~10 KB per Worker, never given back).
 */
export const LIBC_WAIT = {
  __errno_location: LIBC.__errno_location,
  epoll_wait: LIBC.epoll_wait,
} as const satisfies Record<string, SymbolDef>;

/** Signature of a native callback (a JS function C code calls). */
export interface CallbackDef {
  /** Parameter types (no `buf`: C hands out pointers). */
  readonly args: readonly Exclude<NativeType, "buf">[];
  /** Result type. */
  readonly result: Exclude<NativeType, "buf">;
}

/** Callback signatures libbpf calls back with. */
export const CALLBACKS = {
  /** int (*libbpf_print_fn_t)(enum libbpf_print_level, const char *fmt, va_list) */
  libbpf_print: { args: ["i32", "ptr", "ptr"], result: "i32" },
  /** int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size) */
  ring_buffer_sample: { args: ["ptr", "ptr", "usize"], result: "i32" },
  /** void (*perf_buffer_sample_fn)(void *ctx, int cpu, void *data, __u32 size) */
  perf_buffer_sample: { args: ["ptr", "i32", "ptr", "u32"], result: "void" },
  /** void (*perf_buffer_lost_fn)(void *ctx, int cpu, __u64 cnt) */
  perf_buffer_lost: { args: ["ptr", "i32", "u64"], result: "void" },
} as const satisfies Record<string, CallbackDef>;
