/**
 * Paths to BPF objects built from the repo's C sources. `scripts/test.sh`
 * builds them all first; a test run on its own builds what it needs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Path of the object built from `<dir>/<name>.bpf.c`, e.g.
 * `fixture("btf_types")` → build/fixtures/btf_types.bpf.o. Rebuilds it when
 * missing or older than its source.
 */
export function fixture(name: string, dir = "fixtures"): string {
  const src = join(ROOT, dir, `${name}.bpf.c`);
  const out = join(ROOT, "build", dir, `${name}.bpf.o`);
  if (!existsSync(src)) throw new Error(`no BPF source ${src}`);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    execFileSync("bash", [join(ROOT, "scripts/build-bpf.sh")], {
      stdio: "inherit",
    });
  }
  return out;
}

/** The cgroup v2 mount (the unified hierarchy, or /sys/fs/cgroup itself), or undefined. */
export const CGROUP2: string | undefined = [
  "/sys/fs/cgroup/unified",
  "/sys/fs/cgroup",
].find((d) => existsSync(`${d}/cgroup.controllers`));

/** True when iproute2's `ip` is installed (veth pairs, network namespaces). */
export const HAS_IP = existsSync("/usr/sbin/ip") || existsSync("/sbin/ip");

/** True when running as root (uid 0). */
export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * Returns true when `cond` holds; otherwise prints why the dependent tests
 * are skipped and returns false. Use as `it.skipIf(!need(cond, "why"))`.
 */
export function need(cond: boolean, reason: string): boolean {
  if (!cond) console.log(`SKIP: ${reason}`);
  return cond;
}

/** What `fn` throws; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

/**
 * True when the unprivileged user (uid 65534) can read this checkout and run
 * this runtime: tests that drop privileges in a child need both. A clone
 * under a 0700 directory (e.g. from `mktemp -d`) is not.
 */
export function usableUnprivileged(): boolean {
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "sh",
      "-c",
      'test -r "$1" && test -x "$2"',
      "sh",
      join(ROOT, "mod.ts"),
      process.execPath,
    ],
    { stdio: "ignore" },
  );
  return r.status === 0;
}

/**
 * Builds test/_support/tcp_cc_pair.c (a TCP connection over 127.0.0.1,
 * "ping" one way and "pong" back) into build/test; the caller removes it.
 */
export function buildTcpPair(): string {
  const dir = join(ROOT, "build/test");
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, `tcp_cc_pair_${process.pid}`);
  execFileSync("cc", [
    "-O2",
    join(ROOT, "test/_support/tcp_cc_pair.c"),
    "-o",
    exe,
  ]);
  return exe;
}
