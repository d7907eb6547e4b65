/**
 * Attach kinds beyond link.test.ts's, each seen firing and checked against
 * bpftool: tp_btf, a uprobe auto-attached from its section, the cgroup
 * hooks in a cgroup made for the test, and the network namespace hooks in
 * a namespace made for the test. Everything is gone afterwards.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readlinkSync, rmdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import type { BpfLink } from "../../src/link.ts";
import { BpfObject } from "../../src/object.ts";
import { bpftoolHasLink } from "../_support/bpftool.ts";
import {
  fixture,
  isRoot,
  need,
  CGROUP2,
  HAS_IP,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const hasCgroup2 = need(CGROUP2 !== undefined, "no cgroup v2 mount");
const hasIp = need(HAS_IP, "no `ip` tool for a network namespace");
const PYTHON = ["/usr/bin/python3", "/bin/python3"].find((p) => existsSync(p));

/** Kernel id of the calling thread, from /proc/thread-self. */
function threadId(): number {
  return Number(readlinkSync("/proc/thread-self").split("/").pop());
}

/** Loads attach_kinds with tp_btf and the uprobe counting this thread only. */
function openKinds(): BpfObject {
  const obj = BpfObject.open(fixture("attach_kinds"));
  obj.load();
  obj.globals.probe_tid = threadId();
  return obj;
}

/** Closes `links`, then checks the kernel has none of them left. */
function closeAll(links: readonly BpfLink[]): void {
  const ids = links.map((l) => l.id);
  for (const id of ids) expect(bpftoolHasLink(id)).toBe(true);
  for (const l of links) l.close();
  for (const id of ids) expect(bpftoolHasLink(id)).toBe(false);
}

describe.skipIf(!root)("more attach kinds", () => {
  it("attaches tp_btf from its section and with attachTrace()", () => {
    using obj = openKinds();
    const prog = obj.program("on_sys_enter_btf");
    expect(prog.type).toBe("tracing");
    const links = [prog.attach(), prog.attachTrace()];
    for (let i = 0; i < 3; i++) libc().getppid();
    // Two links on one program: each call runs it twice.
    expect(obj.globals.tp_btf_hits as bigint).toBeGreaterThanOrEqual(6n);
    closeAll(links);
    const after = obj.globals.tp_btf_hits;
    libc().getppid();
    expect(obj.globals.tp_btf_hits).toBe(after);
  });

  it('attaches SEC("uprobe/libc.so.6:getppid") with attach()', () => {
    using obj = openKinds();
    const link = obj.program("on_getppid").attach();
    for (let i = 0; i < 4; i++) libc().getppid();
    expect(obj.globals.uprobe_hits).toBe(4n);
    closeAll([link]);
    libc().getppid();
    expect(obj.globals.uprobe_hits).toBe(4n);
    // The same program attached explicitly, with a cookie and a pid.
    using again = obj.program("on_getppid").attachUprobe({
      binaryPath: "libc.so.6",
      symbol: "getppid",
      pid: libc().getpid(),
      cookie: 0xfeed_f00d_dead_beefn,
    });
    libc().getppid();
    expect(obj.globals.uprobe_hits).toBe(5n);
    expect(obj.globals.uprobe_cookie).toBe(0xfeed_f00d_dead_beefn);
    again.close();
    // The pid and offset libbpf gets are the ones checked, read once: a
    // getter read again could hand it an unchecked value (here a pid that
    // names no process).
    let reads = 0;
    const self = libc().getpid();
    using once = obj.program("on_getppid").attachUprobe({
      binaryPath: "libc.so.6",
      symbol: "getppid",
      get pid() {
        return reads++ === 0 ? self : 0x7ffffff0;
      },
    });
    expect(reads).toBe(1);
    libc().getppid();
    expect(obj.globals.uprobe_hits).toBe(6n);
    once.close();
    void again;
  });

  it.skipIf(!hasCgroup2)(
    "attaches the cgroup hooks to a cgroup of its own, and they fire for its processes",
    () => {
      const dir = `${CGROUP2}/tsbpf-kinds-test-${process.pid}`;
      mkdirSync(dir);
      try {
        using obj = openKinds();
        const names = [
          "on_sock_create",
          "on_connect4",
          "on_bind4",
          "on_getsockopt",
          "on_sysctl",
          "on_device",
        ];
        const links = names.map((n) => obj.program(n).attachCgroup(dir));
        for (const l of links) expect(l.info().type).toBe("cgroup");
        // A shell in the cgroup reads a sysctl, opens a device, binds and
        // reads a socket option (python), then connects to a closed port.
        const py = PYTHON
          ? `${PYTHON} -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)';`
          : "";
        spawnSync("bash", [
          "-c",
          `echo $$ > ${dir}/cgroup.procs; cat /proc/sys/kernel/ostype >/dev/null; head -c1 /dev/zero >/dev/null; ${py} exec 3<>/dev/tcp/127.0.0.1/9 || true`,
        ]);
        const g = obj.globals;
        expect(g.sysctl_hits as bigint).toBeGreaterThan(0n);
        expect(g.device_hits as bigint).toBeGreaterThan(0n);
        expect(g.sock_create_hits as bigint).toBeGreaterThan(0n);
        expect(g.connect4_hits as bigint).toBeGreaterThan(0n);
        if (PYTHON) {
          expect(g.bind4_hits as bigint).toBeGreaterThan(0n);
          expect(g.getsockopt_hits as bigint).toBeGreaterThan(0n);
        } else {
          console.log("SKIP: bind4/getsockopt firing: no python3");
        }
        closeAll(links);
      } finally {
        rmdirSync(dir);
      }
    },
  );

  it.skipIf(!hasIp)(
    "attaches sk_lookup and flow_dissector to a network namespace of its own",
    () => {
      const ns = `tsbpf-kinds-${process.pid}`;
      execFileSync("ip", ["netns", "add", ns]);
      try {
        execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
        using obj = openKinds();
        const links = ["on_sk_lookup", "on_flow"].map((n) =>
          obj.program(n).attachNetns(`/run/netns/${ns}`),
        );
        for (const l of links) expect(l.info().type).toBe("netns");
        // A SYN to a closed port in that namespace: the kernel looks for a
        // listening socket, and sk_lookup runs first.
        spawnSync("ip", [
          "netns",
          "exec",
          ns,
          "bash",
          "-c",
          "exec 3<>/dev/tcp/127.0.0.1/9 || true",
        ]);
        expect(obj.globals.sk_lookup_hits as bigint).toBeGreaterThan(0n);
        // One flow dissector per namespace (the kernel's bare E2BIG).
        expect(() =>
          obj.program("on_flow").attachNetns(`/run/netns/${ns}`),
        ).toThrow(
          /has a flow_dissector program already \(one per network namespace\)/,
        );
        closeAll(links);
      } finally {
        execFileSync("ip", ["netns", "del", ns]);
      }
    },
  );

  it.skipIf(!hasIp)(
    "attaches XDP in each mode to a veth whose peer is in a namespace of its own",
    () => {
      const ns = `tsbpf-xdp-${process.pid}`;
      const dev = `tsbx${process.pid % 100000}`;
      execFileSync("ip", ["netns", "add", ns]);
      try {
        execFileSync("ip", [
          "link",
          "add",
          dev,
          "type",
          "veth",
          "peer",
          "name",
          "p0",
          "netns",
          ns,
        ]);
        execFileSync("ip", ["addr", "add", "10.253.80.1/24", "dev", dev]);
        execFileSync("ip", ["link", "set", dev, "up"]);
        execFileSync("ip", [
          "-n",
          ns,
          "addr",
          "add",
          "10.253.80.2/24",
          "dev",
          "p0",
        ]);
        execFileSync("ip", ["-n", ns, "link", "set", "p0", "up"]);
        using obj = BpfObject.open(fixture("attach"));
        obj.program("on_kprobe").autoload = false;
        obj.load();
        const prog = obj.program("xdp_filter");
        const show = () =>
          execFileSync("ip", ["link", "show", dev], { encoding: "utf8" });
        let target = 10; // a new address each time: a failed ARP is not retried at once
        for (const [mode, shown] of [
          // Native XDP shows as "xdp", generic (skb) as "xdpgeneric".
          [undefined, / xdp /],
          ["drv", / xdp /],
          ["skb", / xdpgeneric /],
        ] as const) {
          const before = obj.globals.xdp_hits as bigint;
          const link = prog.attachXdp(dev, mode ? { mode } : {});
          expect(link.info().type).toBe("xdp");
          expect(show()).toMatch(shown);
          // ARP requests from the namespace arrive on dev: XDP sees them.
          spawnSync("ip", [
            "netns",
            "exec",
            ns,
            "ping",
            "-c",
            "1",
            "-W",
            "0.3",
            `10.253.80.${target++}`,
          ]);
          expect(obj.globals.xdp_hits as bigint).toBeGreaterThan(before);
          closeAll([link]);
          expect(show()).not.toMatch(/ xdp(generic)? /);
        }
        expect(() => prog.attachXdp(dev, { mode: "hw" })).toThrow(
          /cannot offload XDP to its hardware/,
        );
      } finally {
        // Deleting the namespace would take the pair along, but later.
        spawnSync("ip", ["link", "del", dev]);
        execFileSync("ip", ["netns", "del", ns]);
      }
    },
  );
});
