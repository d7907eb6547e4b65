/**
 * Why a uprobe or USDT attach could not find its target: the binary (found
 * the way libbpf finds a bare name) and the process. Only for hints: libbpf
 * does the real lookup.
 */
import { accessSync, constants, existsSync } from "node:fs";
import process from "node:process";

/**
 * libbpf's `arch_specific_lib_paths()` for the architectures tsbpf runs on
 * (Debian's multiarch directory, searched after /usr/lib64:/usr/lib).
 */
const ARCH_LIB_DIR: Record<string, string> = {
  x64: "/lib/x86_64-linux-gnu",
  arm64: "/lib/aarch64-linux-gnu",
};

/** True for a name libbpf searches for as a library (`str_has_sfx(".so") || strstr(".so.")`). */
function isLibraryName(name: string): boolean {
  return name.endsWith(".so") || name.includes(".so.");
}

/**
 * The directories libbpf 1.x's `resolve_full_path()` searches for a name
 * without a "/": a library name on LD_LIBRARY_PATH, /usr/lib64:/usr/lib and
 * the multiarch directory; any other name on PATH and /usr/bin:/usr/sbin.
 */
function searchDirs(name: string): string[] {
  const lists = isLibraryName(name)
    ? [
        process.env.LD_LIBRARY_PATH ?? "",
        "/usr/lib64:/usr/lib",
        ARCH_LIB_DIR[process.arch] ?? "",
      ]
    : [process.env.PATH ?? "", "/usr/bin:/usr/sbin"];
  return lists.flatMap((l) => l.split(":")).filter((d) => d !== "");
}

/** Where libbpf would find `binaryPath`, or undefined when it finds none. */
export function resolveBinary(binaryPath: string): string | undefined {
  if (binaryPath.includes("/"))
    return existsSync(binaryPath) ? binaryPath : undefined;
  // libbpf needs R_OK for a library, R_OK | X_OK for a program.
  const mode = isLibraryName(binaryPath)
    ? constants.R_OK
    : constants.R_OK | constants.X_OK;
  for (const dir of searchDirs(binaryPath)) {
    const path = `${dir}/${binaryPath}`;
    try {
      accessSync(path, mode);
      return path;
    } catch {
      // not there: the next directory
    }
  }
  return undefined;
}

/**
 * A hint when libbpf cannot find `binaryPath`: a path that does not exist,
 * or a bare name in none of the directories libbpf searches (a program in
 * the current directory needs "./").
 */
export function missingBinaryHint(binaryPath: string): string | undefined {
  if (resolveBinary(binaryPath) !== undefined) return undefined;
  if (binaryPath.includes("/")) return `no such file ${binaryPath}`;
  const where = isLibraryName(binaryPath)
    ? "LD_LIBRARY_PATH, /usr/lib64, /usr/lib and the multiarch directory"
    : "PATH, /usr/bin and /usr/sbin";
  const local = existsSync(binaryPath)
    ? `; it is in the current directory: give it as ./${binaryPath}`
    : ": give its path (absolute, or ./name for one in the current directory)";
  return `libbpf found no '${binaryPath}': a name without a "/" is searched for in ${where}${local}`;
}

/**
 * A hint for ESRCH from a uprobe or USDT attach with `pid`: the kernel
 * found no such process (perf_event_open), usually one that has exited.
 */
export function goneProcessHint(pid: number | undefined): string | undefined {
  if (pid === undefined || pid <= 0 || existsSync(`/proc/${pid}`))
    return undefined;
  return `no process ${pid} (it has exited, or never existed): a uprobe with a pid traces a live process only; start the attach before the process ends, or leave pid out (-1) to trace every process running the binary`;
}
