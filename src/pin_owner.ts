/**
 * Whose pin a bpffs path is: unpin(path) removes a pin of its own map or
 * program only. unlink() removes whatever is there (another object's pin,
 * or any file off bpffs), and libbpf's unpin calls do the same when they
 * are given a path of their own.
 */
import { cstr, libbpf, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { StateError } from "./errors.ts";
import { bpfFdKind, describeFdKind } from "./fd_kind.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";
import { objectInfo } from "./obj_info.ts";

/**
 * Throws unless `path` pins the BPF object of `kind` ("bpf-map" or
 * "bpf-prog") whose kernel id is `id`: a StateError for another object's
 * pin, the BpfError of BPF_OBJ_GET for a path that pins nothing.
 * `what` names ours, e.g. "map 'counts'".
 */
export function checkPinOf(
  path: string,
  kind: "bpf-map" | "bpf-prog",
  id: number,
  what: string,
): void {
  clearLibbpfLog();
  const fd = libbpf().bpf_obj_get(cstr(path));
  if (fd < 0) {
    throw bpfError("bpf_obj_get", fd, { kind: "pin", path }, { log: "" });
  }
  try {
    const found = bpfFdKind(fd);
    if (found !== undefined && found !== kind) {
      throw new StateError(
        `unpin: ${path} is ${describeFdKind(found)} pinned on bpffs, not a pin of ${what}`,
      );
    }
    // struct bpf_map_info and bpf_prog_info both start with type, id.
    const theirs = new DataView(
      objectInfo(fd, new Uint8Array(8)).buffer,
    ).getUint32(4, true);
    if (theirs !== id) {
      throw new StateError(
        `unpin: ${path} pins another ${kind === "bpf-map" ? "map" : "program"} (id ${theirs}), not ${what.replace(/^\w+ /, "")} (id ${id})`,
      );
    }
  } finally {
    libc().close(fd);
  }
}
