/**
 * Socket maps on the real kernel (fixtures/sockmap.bpf.c): a sock_ops
 * program on a fresh cgroup puts that cgroup's TCP sockets in a sockhash,
 * and an sk_msg program attached to the sockhash with attachSockmap()
 * counts what they send, for a real connection.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  rmdirSync,
} from "node:fs";
import { release } from "node:os";
import { describe, expect, it } from "vitest";
import { libbpf } from "../../ffi/mod.ts";
import { BpfError, BpfTypeError } from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { attachToSockmapWithoutLink } from "../../src/sockmap.ts";
import {
  buildTcpPair,
  fixture,
  isRoot,
  need,
  thrown,
  CGROUP2,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_NET_ADMIN)");
const hasCgroup2 = need(CGROUP2 !== undefined, "no cgroup v2 mount");
const hasCc = need(
  spawnSync("sh", ["-c", "command -v cc"]).status === 0,
  "no C compiler (cc) to build the TCP client",
);

/** True when the running kernel's version is at least major.minor. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release()
    .split(".")
    .map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

// open(2) flag as /proc/self/fdinfo shows it (octal; uapi asm-generic/fcntl.h)
const O_CLOEXEC = 0o2000000;

/** This process's BPF fds (readdir's own fd is gone by the readlink). */
function bpfFds(): string[] {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith("anon_inode:bpf");
    } catch {
      return false;
    }
  });
}

function openSockmap(): BpfObject {
  const obj = BpfObject.open(fixture("sockmap"));
  obj.load();
  return obj;
}

describe.skipIf(!root)("sockmap", () => {
  it.skipIf(!hasCgroup2 || !hasCc)(
    "runs an sk_msg program for the sockets a sock_ops program adds",
    () => {
      using obj = openSockmap();
      const socks = obj.map("socks");
      const cg = `${CGROUP2}/tsbpf-sockmap-${process.pid}`;
      const exe = buildTcpPair();
      mkdirSync(cg);
      try {
        using _ops = obj.program("add_established").attachCgroup(cg);
        using msg = obj.program("count_msg").attachSockmap(socks);
        expect(msg.description).toBe(`sk_msg sockmap fd ${socks.fd}`);
        // A kernel link where the kernel has sockmap links (Linux ≥ 6.10).
        if (kernelAtLeast(6, 10)) expect(msg.fd).toBeGreaterThan(0);
        else expect(() => msg.fd).toThrow(/without a link/);
        // The client joins the cgroup first, so both of its sockets count.
        const r = spawnSync(
          "sh",
          ["-c", `echo $$ > ${cg}/cgroup.procs && exec ${exe}`],
          { encoding: "utf8", timeout: 30_000 },
        );
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
      } finally {
        rmSync(exe, { force: true });
        rmdirSync(cg);
      }
      expect(obj.globals.added).toBe(2n);
      expect(obj.globals.msgs).toBe(2n); // "ping" and "pong"
      expect(obj.globals.msg_bytes).toBe(8n);
      // Closed sockets leave the map.
      expect(socks.count()).toBe(0);
    },
  );

  it("detaches on close, so the map takes another program", () => {
    using obj = openSockmap();
    const socks = obj.map("socks");
    const prog = obj.program("count_msg");
    const first = prog.attachSockmap(socks.fd);
    const again = thrown(() => prog.attachSockmap(socks));
    expect(again).toBeInstanceOf(BpfError);
    expect((again as BpfError).hint).toMatch(/already has a sk_msg program/);
    first.close();
    prog.attachSockmap(socks).close();
  });

  it("says what it needs", () => {
    using obj = openSockmap();
    const socks = obj.map("socks");
    const wrongProg = thrown(() =>
      obj.program("add_established").attachSockmap(socks),
    );
    expect(wrongProg).toBeInstanceOf(BpfTypeError);
    expect(wrongProg.message).toMatch(/is a sock_ops program/);
    const bss = obj.maps.find((m) => m.type === "array")!;
    const wrongMap = thrown(() => obj.program("count_msg").attachSockmap(bss));
    expect((wrongMap as BpfError).hint).toMatch(/sockmap or sockhash/);
    expect(() =>
      obj.program("count_msg").attachSockmap(-1 as unknown as number),
    ).toThrow(BpfTypeError);
    // By section name alone it cannot attach: the error names the way.
    const byName = thrown(() => obj.program("count_msg").attach());
    expect((byName as BpfError).hint).toMatch(/attachSockmap\(map\)/);
  });

  it("without kernel links (before 6.10): its own fds are close-on-exec and closed on detach", () => {
    using obj = openSockmap();
    const socks = obj.map("socks");
    const prog = obj.program("count_msg");
    const before = new Set(bpfFds());
    const backend = attachToSockmapWithoutLink(
      prog.fd,
      socks.fd,
      7,
      "",
      undefined,
    );
    const added = bpfFds().filter((fd) => !before.has(fd));
    // A copy of the program's fd and one of the map's, and nothing else.
    expect(
      added.map((fd) => readlinkSync(`/proc/self/fd/${fd}`)).sort(),
    ).toEqual(["anon_inode:bpf-map", "anon_inode:bpf-prog"]);
    for (const fd of added) {
      const flags = /^flags:\s*([0-7]+)$/m.exec(
        readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"),
      )![1]!;
      expect(parseInt(flags, 8) & O_CLOEXEC).toBe(O_CLOEXEC);
    }
    backend.destroy();
    const after = new Set(bpfFds());
    expect(added.filter((fd) => after.has(fd))).toEqual([]);
    // Detached: nothing left to detach.
    expect(libbpf().bpf_prog_detach2(prog.fd, socks.fd, 7)).toBe(-2); // ENOENT
  });
});
