/**
 * Runs a test child script that reports one error as JSON, under this
 * runtime, behind a wrapper (setpriv, unshare ...), with HOME and the
 * runtimes' caches in a world-readable temporary directory so that an
 * unprivileged user can run it.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import process from "node:process";

/** What an error child prints (its last line, JSON). */
export interface ChildResult {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  hint?: string;
}

/**
 * The wrapper that runs a child in a private mount namespace after `setup`
 * (a shell line: unmount or hide something for this child only).
 */
export function inMountNamespace(setup: string): string[] {
  return ["unshare", "-m", "sh", "-c", setup, "--"];
}

/** The wrapper that runs a child as nobody (uid and gid 65534, no groups). */
export const AS_NOBODY: readonly string[] = [
  "setpriv",
  "--reuid=65534",
  "--regid=65534",
  "--clear-groups",
];

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/**
 * Runs `script` with `args` under this runtime (Deno with `denoFlags`),
 * prefixed by `wrap`; returns what it printed last.
 */
export function runErrorChild(
  script: string,
  wrap: readonly string[],
  args: string[] = [],
  denoFlags: string[] = ["-A"],
): ChildResult {
  const home = mkdtempSync("/tmp/tsbpf-child-");
  chmodSync(home, 0o777);
  try {
    const runtime = isDeno
      ? [process.execPath, "run", ...denoFlags, "--no-lock", script]
      : [process.execPath, "run", script];
    const r = spawnSync(wrap[0]!, [...wrap.slice(1), ...runtime, ...args], {
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        DENO_DIR: `${home}/deno`,
        BUN_INSTALL_CACHE_DIR: `${home}/bun`,
        TMPDIR: home,
      },
    });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(last) as ChildResult;
    } catch {
      throw new Error(`child printed no result: ${r.stdout}\n${r.stderr}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
