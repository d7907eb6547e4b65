/**
 * struct_ops on the real kernel: fixtures/struct_ops.bpf.c is a TCP
 * congestion control. Registering its table makes the kernel list it and
 * run its programs for a real connection that picks it; closing the link
 * (or the object) unregisters it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BpfError,
  BpfTypeError,
  StateError,
  UnsupportedError,
} from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import type { BpfLink } from "../../src/link.ts";
import { generateSkeleton } from "../../codegen/skeleton.ts";
import {
  ROOT,
  buildTcpPair,
  fixture,
  isRoot,
  need,
  thrown,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_SYS_ADMIN)");
const hasCc = need(
  spawnSync("sh", ["-c", "command -v cc"]).status === 0,
  "no C compiler (cc) to build the TCP client",
);
const CC = "tsbpf_test_cc";

/** The congestion controls the kernel has registered. */
function available(): string[] {
  return readFileSync(
    "/proc/sys/net/ipv4/tcp_available_congestion_control",
    "utf8",
  )
    .trim()
    .split(/\s+/);
}

function openCc(): BpfObject {
  const obj = BpfObject.open(fixture("struct_ops"));
  obj.load();
  return obj;
}

/**
 * The skeleton module generated for fixtures/struct_ops.bpf.c, written into
 * `dir` (under build/test, referring to the object by path).
 */
async function structOpsSkeleton(dir: string) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "struct_ops.skel.ts");
  writeFileSync(
    file,
    generateSkeleton(readFileSync(fixture("struct_ops")), {
      fileName: "struct_ops.bpf.o",
      path: "../../fixtures/struct_ops.bpf.o",
      importFrom: "../../../mod.ts",
    }),
  );
  return await import(pathToFileURL(file).href);
}

describe.skipIf(!root)("struct_ops", () => {
  it("registers the table while the link is open, and the kernel runs it", () => {
    using obj = openCc();
    expect(obj.map("tsbpf_cc").type).toBe("struct_ops");
    expect(available()).not.toContain(CC);
    const link = obj.map("tsbpf_cc").attachStructOps();
    expect(link.description).toBe("struct_ops tsbpf_cc");
    expect(available()).toContain(CC);
    link.close();
    expect(available()).not.toContain(CC);
  });

  it.skipIf(!hasCc)("runs the programs for a connection that picks it", () => {
    using obj = openCc();
    using _cc = obj.map("tsbpf_cc").attachStructOps();
    const exe = buildTcpPair();
    try {
      const r = spawnSync(exe, [CC], { encoding: "utf8", timeout: 30_000 });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(CC);
    } finally {
      rmSync(exe, { force: true });
    }
    // The client's socket took it up (TCP_CONGESTION calls init).
    expect(obj.globals.inits as bigint).toBeGreaterThanOrEqual(1n);
  });

  it("is unregistered when its object closes", () => {
    const obj = openCc();
    obj.map("tsbpf_cc").attachStructOps();
    expect(available()).toContain(CC);
    obj.close();
    expect(available()).not.toContain(CC);
  });

  it("skeleton: the table is a map, and attach() registers it", async () => {
    const dir = join(ROOT, "build/test", `struct-ops-${process.pid}`);
    try {
      const skelModule = await structOpsSkeleton(dir);
      using skel = skelModule.load();
      expect(skel.maps.tsbpf_cc.type).toBe("struct_ops");
      const links: BpfLink[] = skel.attach();
      expect(links.map((l) => l.description)).toEqual(["struct_ops tsbpf_cc"]);
      expect(available()).toContain(CC);
      for (const l of links) l.close();
      expect(available()).not.toContain(CC);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skeleton attach(): a table the kernel refuses throws, or is listed in skipped with onError: "skip"', async () => {
    const dir = join(ROOT, "build/test", `struct-ops-skip-${process.pid}`);
    try {
      const skelModule = await structOpsSkeleton(dir);
      // Another object holds the congestion control's name: the kernel
      // refuses a second one of that name (EEXIST).
      using holder = openCc();
      const held = holder.map("tsbpf_cc").attachStructOps();
      using skel = skelModule.load();
      const refused = thrown(() => skel.attach()) as BpfError;
      expect(refused).toBeInstanceOf(BpfError);
      expect(refused.code).toBe("EEXIST");
      const links = skel.attach({ onError: "skip" });
      expect(links).toHaveLength(0);
      expect(links.skipped).toHaveLength(1);
      const [s] = links.skipped;
      expect([s.program, s.map, s.section]).toEqual([
        "tsbpf_cc",
        "tsbpf_cc",
        ".struct_ops",
      ]);
      expect(s.error).toBeInstanceOf(BpfError);
      expect(s.error.code).toBe("EEXIST");
      expect(s.reason).toBe(s.error.message);
      // Once the name is free, a later attach() registers the table.
      held.close();
      const again: BpfLink[] = skel.attach();
      expect(again.map((l) => l.description)).toEqual(["struct_ops tsbpf_cc"]);
      expect(available()).toContain(CC);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(available()).not.toContain(CC);
  });

  it("explains what cannot be done", () => {
    const unloaded = BpfObject.open(fixture("struct_ops"));
    try {
      expect(() => unloaded.map("tsbpf_cc").attachStructOps()).toThrow(
        StateError,
      );
    } finally {
      unloaded.close();
    }
    using obj = openCc();
    using cc = obj.map("tsbpf_cc").attachStructOps();
    // Registered by a map update (SEC(".struct_ops")): no link fd to pin.
    const noFd = thrown(() => cc.fd);
    expect(noFd).toBeInstanceOf(UnsupportedError);
    expect(noFd.message).toMatch(/has no link fd/);
    const twice = thrown(() => obj.map("tsbpf_cc").attachStructOps());
    expect(twice).toBeInstanceOf(StateError);
    expect(twice.message).toMatch(/has been registered already/);
    // Unregistered, the kernel still will not take the same map again.
    cc.close();
    const again = thrown(() => obj.map("tsbpf_cc").attachStructOps());
    expect(again).toBeInstanceOf(StateError);
    expect((again as StateError).hint).toMatch(/open the object anew/);
    const bss = obj.maps.find((m) => m.type === "array")!;
    expect(thrown(() => bss.attachStructOps())).toBeInstanceOf(BpfTypeError);
    const prog = thrown(() => obj.program("tsbpf_cc_init").attach());
    expect((prog as BpfError).hint).toMatch(/attachStructOps\(\)/);
  });
});
