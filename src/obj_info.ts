/** BPF_OBJ_GET_INFO_BY_FD: what the kernel reports about a map, program or link fd. */
import { libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";

/**
 * Fills `info` with the kernel's info struct for `fd` (it copies as much as
 * there is room for); BpfError on failure. Returns `info`.
 */
export function objectInfo(fd: number, info: Uint8Array): Uint8Array {
  const len = new Uint32Array([info.length]);
  const err = libbpf().bpf_obj_get_info_by_fd(
    fd,
    info,
    new Uint8Array(len.buffer),
  );
  if (err < 0) throw bpfError("bpf_obj_get_info_by_fd", err);
  return info;
}
