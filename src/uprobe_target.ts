/**
 * A uprobe or USDT attach's target: the binary (found the way libbpf finds a
 * bare name), the function (by name and version, for libbpf 1.1, which does
 * not know versions) and, for hints, the process.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readSync,
  statSync,
} from "node:fs";
import process from "node:process";
import type { ElfFile } from "./elf/file.ts";
import {
  type ElfFunction,
  findFunctions,
  functionLabel,
} from "./elf/functions.ts";
import { isElf, readElf } from "./elf/reader.ts";
import { readSymbolSections } from "./symbol_sections.ts";

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

/** What {@link resolveFunction} found: an offset to attach at, or why none. */
export type FunctionTarget =
  | { readonly fileOffset: number; readonly label: string }
  | { readonly problem: string };

/**
 * Finds `symbol` in `binaryPath` much as newer libbpf does, for libbpf 1.1,
 * which neither takes a version (`realpath@@GLIBC_2.3`) nor picks among
 * versions (`realpath` is then ambiguous): a versioned name matches that
 * version; a bare one matches its only definition, else its default
 * version. An IFUNC is refused: a uprobe there would fire in its resolver,
 * once per process at load. Undefined when the binary cannot be read as ELF.
 */
export function resolveFunction(
  binaryPath: string,
  symbol: string,
): FunctionTarget | undefined {
  const path = resolveBinary(binaryPath);
  if (path === undefined) return undefined;
  let file: ElfFile;
  let all: ElfFunction[];
  try {
    const known = symbolFile(path);
    file = known.file;
    all = known.functions.get(symbol) ?? findFunctions(file, symbol);
    known.functions.set(symbol, all);
  } catch {
    return undefined; // not ELF, unreadable, corrupt: libbpf's error stands
  }
  const at = symbol.indexOf("@");
  const bare = at < 0 ? symbol : symbol.slice(0, at);
  const wanted = at < 0 ? undefined : symbol.slice(at).replace(/^@@?/, "");
  let found = all.filter(
    (f) =>
      wanted === undefined ||
      (f.version === wanted &&
        (!symbol.startsWith("@@", at) || f.defaultVersion)),
  );
  const offsets = (fs: ElfFunction[]) => new Set(fs.map((f) => f.fileOffset));
  if (wanted === undefined && offsets(found).size > 1) {
    // The default version, else the one global definition over weak ones.
    const defaults = found.filter((f) => f.version && f.defaultVersion);
    const strong = found.filter((f) => !f.weak);
    found =
      offsets(defaults).size === 1
        ? defaults
        : offsets(strong).size === 1
          ? strong
          : [];
    if (found.length === 0) {
      return {
        problem: `'${bare}' has several definitions in ${path} (${list(all)}), none of them the default version: name one (name@VERSION), or attach by offset`,
      };
    }
  }
  if (found.length === 0) {
    if (all.length > 0) {
      return {
        problem: `${path} has no '${symbol}'; it has ${list(all)}`,
      };
    }
    const stripped = file.symbols.length === 0;
    return {
      problem: stripped
        ? `no function '${bare}' in ${path}: it is stripped (no .symtab) and its dynamic symbols (\`nm -D ${path}\`) do not have it; attach by offset (from a build with symbols or its debug info)`
        : `no function '${bare}' in ${path}'s symbol tables (\`nm ${path}\`, \`nm -D ${path}\`)`,
    };
  }
  const f = found[0]!;
  if (f.ifunc) {
    return {
      problem: `'${functionLabel(f)}' in ${path} is an IFUNC: a resolver run once at load, which picks an implementation (e.g. an AVX2 variant), so a uprobe on it would not see calls; attach to the implementation by its name or offset (\`nm\` with debug symbols lists them)`,
    };
  }
  return { fileOffset: f.fileOffset, label: functionLabel(f) };
}

/** `a@@V (0x1f0), a@W (0x2e0)`: the definitions with their file offsets. */
function list(fs: readonly ElfFunction[]): string {
  const seen = new Map<number, string>();
  for (const f of fs) {
    const label = `${functionLabel(f)}${f.ifunc ? " (IFUNC)" : ""}`;
    if (!seen.has(f.fileOffset) || f.version !== undefined)
      seen.set(f.fileOffset, label);
  }
  return [...seen]
    .map(([off, label]) => `${label} at offset 0x${off.toString(16)}`)
    .join(", ");
}

/** A binary read, and the definitions of each symbol looked up in it. */
interface KnownFile {
  readonly key: string;
  readonly file: ElfFile;
  readonly functions: Map<string, ElfFunction[]>;
}

/** Binaries read last, by path and identity: uprobes often attach to one library many times. */
const recentFiles: KnownFile[] = [];
const RECENT_FILES = 4;

/**
 * `path` read as ELF (its symbol sections only), from {@link recentFiles}
 * while the file there is the same one (inode, size, mtime): each read
 * allocates a buffer of the file's size, which the engines collect late.
 */
function symbolFile(path: string): KnownFile {
  const st = statSync(path);
  const key = `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const i = recentFiles.findIndex((r) => r.key === key);
  if (i >= 0) {
    const [hit] = recentFiles.splice(i, 1);
    recentFiles.unshift(hit!);
    return hit!;
  }
  const known = {
    key,
    file: readElf(readSymbolSections(path)),
    functions: new Map<string, ElfFunction[]>(),
  };
  recentFiles.unshift(known);
  recentFiles.length = Math.min(recentFiles.length, RECENT_FILES);
  return known;
}

/**
 * A hint when `binaryPath` is found but is no ELF file a probe can go in: a
 * directory, a script (its interpreter is the binary to probe), other data.
 * libbpf says "BPF object format invalid" or "Bad file descriptor" there.
 */
export function notElfHint(binaryPath: string): string | undefined {
  const path = resolveBinary(binaryPath);
  if (path === undefined) return undefined;
  let head: Uint8Array;
  try {
    if (statSync(path).isDirectory())
      return `${path} is a directory: give the executable or library to probe`;
    const fd = openSync(path, "r");
    try {
      head = new Uint8Array(256);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // unreadable: libbpf's error says why
  }
  if (isElf(head)) return undefined;
  if (head[0] === 0x23 && head[1] === 0x21) {
    const line = new TextDecoder().decode(head).split("\n")[0]!;
    const interpreter = line.slice(2).trim().split(/\s+/)[0] ?? "";
    return `${path} is a script (${line}): probes go in an ELF binary, here its interpreter ${interpreter}`;
  }
  return `${path} is not an ELF file: probes go in an executable or shared library`;
}
