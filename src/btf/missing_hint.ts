/**
 * What to tell a user whose struct is not in a BTF: why clang may have
 * left it out of a BPF object's BTF and how to keep it, unless the BTF is
 * the kernel's (nobody compiled that with their program) or the name is
 * one of a scalar type. Imports `Btf` as a type only (btf.ts imports this).
 */
import type { Btf } from "./btf.ts";
import type { Kind } from "./types.ts";

/** Where the kernel publishes its BTF (as btf.ts's KERNEL_BTF_DIR). */
const KERNEL_BTF_DIR = "/sys/kernel/btf";

/** Integer and other scalar type names, C and kernel spellings. */
const SCALAR_NAME =
  /^(?:(?:__)?[us](?:8|16|32|64|128)|(?:__)?(?:be|le)(?:16|32|64)|(?:u_?)?int(?:8|16|32|64)_t|u?intptr_t|s?size_t|_Bool|bool|float|double|(?:(?:unsigned|signed) )?(?:char|short|int|long|long long)(?: int)?)$/;

/**
 * True for the kernel's BTF and split BTF over it: read from
 * /sys/kernel/btf, or with a per-CPU data section, which vmlinux has and
 * BPF objects cannot (a vmlinux BTF copied elsewhere).
 */
export function isKernelBtf(btf: Btf): boolean {
  for (let b: Btf | undefined = btf; b; b = b.base) {
    if (b.source.startsWith(`${KERNEL_BTF_DIR}/`)) return true;
    if (b.findIds(".data..percpu", "datasec").length > 0) return true;
  }
  return false;
}

/**
 * The hint of a missing struct/union `name` in `btf` (kind: what was asked
 * for), or undefined when none applies (kernel BTF: near names say it all).
 */
export function missingStructHint(
  btf: Btf,
  name: string,
  kind: Kind | undefined,
): string | undefined {
  if (isKernelBtf(btf)) return undefined;
  if (SCALAR_NAME.test(name)) {
    const spec = /^(?:__)?[us](?:8|16|32|64)$/.test(name)
      ? `codecForLayout("${name.replace(/^__/, "")}")`
      : "a layout type such as 'u32' or 's64'";
    return `'${name}' names a scalar type, not a struct or union: ${spec} reads and writes one`;
  }
  return droppedStructHint(name, kind);
}

/**
 * Why a struct the program uses can be absent from its BTF, and the two
 * ways to keep it (platform notes: clang emits BTF only for types a global
 * or a map definition mentions, not for a pointer local's pointee, of
 * which it may keep only a forward declaration).
 */
function droppedStructHint(name: string, kind: Kind | undefined): string {
  const t = `${kind === "union" ? "union" : "struct"} ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : "exec_event"}`;
  return (
    `clang leaves a struct out of the object's BTF when the program only uses it through a pointer local ` +
    `(e.g. \`${t} *e = bpf_ringbuf_reserve(...)\`); keep it with a global (\`${t} _anchor = {};\`) ` +
    `or with \`__type(value, ${t})\` in a map definition`
  );
}
