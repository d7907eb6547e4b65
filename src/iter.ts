/**
 * What an iterator link walks: the `union bpf_iter_link_info` given to
 * BPF_LINK_CREATE for `SEC("iter/...")` programs. `iter/bpf_map_elem`
 * (and the other map iterators) need a map; `iter/task*` can be narrowed
 * to one thread or process; `iter/cgroup` starts at a cgroup in an order.
 */
import { cstr, errno, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError } from "./errors.ts";
import { describeValue } from "./map_codecs.ts";

/** Options of `program.attachIter()`: what the iterator walks. */
export interface IterOptions {
  /**
   * The map a map iterator walks (`iter/bpf_map_elem`,
   * `iter/bpf_sk_storage_map`, `iter/sockmap`): a `BpfMap` or a map fd.
   */
  readonly map?: { readonly fd: number } | number;
  /**
   * `iter/task`, `iter/task_file`, `iter/task_vma` (kernel ≥ 6.1): only
   * this thread (`tid`), the threads of this process (`pid`), or of the
   * process a pidfd refers to (`pidFd`). Give one.
   */
  readonly task?: {
    readonly tid?: number;
    readonly pid?: number;
    readonly pidFd?: number;
  };
  /**
   * `iter/cgroup` (kernel ≥ 6.1): the cgroup to start at, by cgroup v2
   * directory `path` or `id`, and the walk `order` (default "self").
   */
  readonly cgroup?: {
    readonly path?: string;
    readonly id?: bigint;
    readonly order?: CgroupIterOrder;
  };
}

/** enum bpf_cgroup_iter_order (uapi/linux/bpf.h), by tsbpf's name. */
const CGROUP_ORDER = {
  self: 1,
  "descendants-pre": 2,
  "descendants-post": 3,
  "ancestors-up": 4,
} as const;

/** The walk order of an `iter/cgroup` iterator. */
export type CgroupIterOrder = keyof typeof CGROUP_ORDER;

// sizeof(union bpf_iter_link_info): cgroup's { u32 order, cgroup_fd; u64 id }.
const LINK_INFO_SIZE = 16;
const O_RDONLY_DIRECTORY = 0o200000;

/** An fd-sized non-negative integer, else BpfTypeError naming `what`. */
function fdOrId(what: string, x: unknown, expected: string): number {
  if (typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0x7fffffff)
    return x;
  throw new BpfTypeError(
    `attachIter: ${what} is ${expected}, got ${describeValue(x)}`,
  );
}

/** Which option each kernel iterator target reads its link info as. */
const TARGET_OPTION: Readonly<Record<string, "map" | "task" | "cgroup">> = {
  bpf_map_elem: "map",
  bpf_sk_storage_map: "map",
  sockmap: "map",
  task: "task",
  task_file: "task",
  task_vma: "task",
  cgroup: "cgroup",
};

/** The option SEC(`section`)'s iterator target takes, if any. */
export function iterTargetOption(
  section: string,
): "map" | "task" | "cgroup" | undefined {
  const target = /^iter(?:\.s)?\/(.*)$/.exec(section)?.[1];
  return target === undefined ? undefined : TARGET_OPTION[target];
}

/**
 * The link info for `options` (null when it names nothing), and the fds
 * opened for it, which the caller closes once the link exists. `section`
 * (`iter/<target>`) says which option the target takes: the kernel reads
 * the union as its own kind, so another kind would be misread (a map fd
 * as a thread id).
 */
export function iterLinkInfo(
  options: IterOptions | undefined,
  section: string,
): {
  info: Uint8Array | null;
  opened: number[];
} {
  if (options === undefined) return { info: null, opened: [] };
  if (typeof options !== "object" || options === null) {
    throw new BpfTypeError(
      `attachIter: options are { map } or { task } or { cgroup }, got ${describeValue(options)}`,
    );
  }
  const given = (["map", "task", "cgroup"] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (given.length > 1) {
    throw new BpfTypeError(
      `attachIter: give one of map, task or cgroup, got ${given.join(" and ")}`,
    );
  }
  if (given.length === 0) return { info: null, opened: [] };
  const takes = iterTargetOption(section);
  // Not an iterator at all: the kernel refuses it, and attachIter says why.
  if (/^iter(\.s)?\//.test(section) && takes !== given[0]) {
    throw new BpfTypeError(
      `attachIter: SEC("${section}") takes ${takes ? `{ ${takes} }` : "no options"}, not { ${given[0]} }`,
    );
  }
  const info = new Uint8Array(LINK_INFO_SIZE);
  const v = new DataView(info.buffer);
  const opened: number[] = [];
  if (options.map !== undefined) {
    const m = options.map;
    const fd = typeof m === "number" ? m : (m as { fd?: unknown } | null)?.fd;
    v.setUint32(0, fdOrId("map", fd, "a BpfMap or a map fd"), true);
  } else if (options.task !== undefined) {
    const t = options.task;
    const keys = (["tid", "pid", "pidFd"] as const).filter(
      (k) => t?.[k] !== undefined,
    );
    if (keys.length !== 1) {
      throw new BpfTypeError(
        `attachIter: give one of task.tid, task.pid or task.pidFd, got ${keys.length ? keys.join(" and ") : "none"}`,
      );
    }
    const k = keys[0]!;
    const n = fdOrId(`task.${k}`, t[k], "a non-negative integer");
    // struct { u32 tid; u32 pid; u32 pid_fd; } task
    v.setUint32(k === "tid" ? 0 : k === "pid" ? 4 : 8, n, true);
  } else {
    const c = options.cgroup!;
    const order = c?.order ?? "self";
    if (!Object.hasOwn(CGROUP_ORDER, order)) {
      throw new BpfTypeError(
        `attachIter: cgroup.order is ${Object.keys(CGROUP_ORDER)
          .map((o) => `"${o}"`)
          .join(", ")}, got ${describeValue(order)}`,
      );
    }
    if ((c?.path === undefined) === (c?.id === undefined)) {
      throw new BpfTypeError(
        "attachIter: give one of cgroup.path (a cgroup v2 directory) or cgroup.id",
      );
    }
    // struct { u32 order; u32 cgroup_fd; u64 cgroup_id; } cgroup
    v.setUint32(0, CGROUP_ORDER[order], true);
    if (c.id !== undefined) {
      if (typeof c.id !== "bigint" || BigInt.asUintN(64, c.id) !== c.id) {
        throw new BpfTypeError(
          `attachIter: cgroup.id is a u64 bigint, got ${describeValue(c.id)}`,
        );
      }
      v.setBigUint64(8, c.id, true);
    } else {
      if (typeof c.path !== "string") {
        throw new BpfTypeError(
          `attachIter: cgroup.path is a string, got ${describeValue(c.path)}`,
        );
      }
      const fd = libc().open(cstr(c.path), O_RDONLY_DIRECTORY, 0);
      if (fd < 0) {
        throw bpfError(
          "open",
          errno(),
          { kind: "cgroup", path: c.path },
          { log: "", detail: `cannot open cgroup directory ${c.path}` },
        );
      }
      opened.push(fd);
      v.setUint32(4, fd, true);
    }
  }
  return { info, opened };
}
