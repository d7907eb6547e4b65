/**
 * File input for the pure-TS layers. Under Deno, `Deno.readFileSync` is used
 * because it reads sysfs files such as /sys/kernel/btf/vmlinux (served 4 KiB
 * per read) markedly faster than Deno's node:fs shim; elsewhere node:fs.
 */
import { readFileSync, statSync } from "node:fs";
import { TsbpfError } from "./errors.ts";

interface DenoLike {
  readFileSync(path: string): Uint8Array;
  statSync(path: string): { isFile: boolean; isDirectory: boolean };
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;

/**
 * Reads a whole file into a fresh `Uint8Array`. Throws a {@link TsbpfError}
 * naming the path when it is missing, unreadable, a directory, or not a
 * regular file (a FIFO would block forever, /dev/zero never end).
 */
export function readFileBytes(path: string): Uint8Array {
  let regular: boolean;
  let directory: boolean;
  try {
    if (deno)
      ({ isFile: regular, isDirectory: directory } = deno.statSync(path));
    else {
      const st = statSync(path);
      regular = st.isFile();
      directory = st.isDirectory();
    }
  } catch (e) {
    throw fileError(path, e);
  }
  if (directory) {
    throw new TsbpfError(`cannot read '${path}': it is a directory`);
  }
  if (!regular) {
    throw new TsbpfError(
      `cannot read '${path}': not a regular file (a FIFO, socket or device)`,
      { hint: "give the path of a regular file" },
    );
  }
  try {
    if (deno) return deno.readFileSync(path);
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw fileError(path, e);
  }
}

/** The {@link TsbpfError} for a failed read of `path` (a node:fs or Deno error). */
export function fileError(path: string, e: unknown): TsbpfError {
  const code = errorCode(e);
  switch (code) {
    case "ENOENT":
      return new TsbpfError(`cannot read '${path}': no such file`, {
        hint: "check the path; build BPF objects with scripts/build-bpf.sh",
        cause: e,
      });
    case "EACCES":
    case "EPERM":
      return new TsbpfError(`cannot read '${path}': permission denied`, {
        hint: "run as a user that can read it (BTF and BPF files often need root)",
        cause: e,
      });
    case "EISDIR":
      return new TsbpfError(`cannot read '${path}': it is a directory`, {
        cause: e,
      });
    default:
      return new TsbpfError(
        `cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
  }
}

/** Node's `code`, or the error's name under Deno (NotFound, PermissionDenied). */
function errorCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const name = (e as { name?: unknown }).name;
  if (name === "NotFound") return "ENOENT";
  if (name === "PermissionDenied") return "EACCES";
  if (name === "IsADirectory") return "EISDIR";
  return undefined;
}
