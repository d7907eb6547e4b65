/**
 * link.info() of each kind of link tsbpf makes here, decoded by type from
 * struct bpf_link_info, and checked against `bpftool link show -j` where
 * bpftool decodes the type, else against what the test attached.
 * (kprobes are compiled out here, and fentry/lsm trampolines refused.)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { release } from "node:os";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import type { BpfLink } from "../../src/link.ts";
import type { LinkInfo } from "../../src/link_info.ts";
import { BpfObject } from "../../src/object.ts";
import {
  fixture,
  isRoot,
  need,
  CGROUP2,
  HAS_IP,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const hasCgroup2 = need(CGROUP2 !== undefined, "no cgroup v2 mount");
const hasIp = need(HAS_IP, "no `ip` tool for a veth pair");
const [major, minor] = release().split(".").map(Number) as [number, number];
const sockmapLinks = need(
  major > 6 || (major === 6 && minor >= 10),
  "sockmap links need Linux ≥ 6.10",
);

/** `bpftool link show id N -j`. */
function bpftool(id: number): Record<string, unknown> {
  return JSON.parse(
    execFileSync("bpftool", ["link", "show", "id", String(id), "-j"], {
      encoding: "utf8",
    }),
  );
}

/** The link's info; checks the common fields against bpftool. */
function infoOf(link: BpfLink): LinkInfo {
  const info = link.info();
  const b = bpftool(link.id);
  expect(info.id).toBe(link.id);
  expect(info.id).toBe(b.id);
  expect(info.programId).toBe(b.prog_id);
  return info;
}

function load(name: string, off: string[] = []): BpfObject {
  const obj = BpfObject.open(fixture(name));
  for (const p of off) obj.program(p).autoload = false;
  obj.load();
  return obj;
}

describe.skipIf(!root)("link.info() details by link type", () => {
  it("raw_tracepoint: the tracepoint's name (raw_tp and tp_btf)", () => {
    using a = load("attach", ["on_kprobe"]);
    using k = load("attach_kinds");
    for (const prog of [
      a.programs.find((p) => p.sectionName === "raw_tp/sys_enter")!,
      k.program("on_sys_enter_btf"),
    ]) {
      using link = prog.attach();
      const info = infoOf(link);
      expect(info).toMatchObject({
        type: "raw_tracepoint",
        tpName: "sys_enter",
      });
      if (info.type !== "raw_tracepoint") throw new Error("narrowing");
      expect(info.tpName).toBe(bpftool(link.id).tp_name);
      expect(info.cookie).toBe(0n);
    }
  });

  it("perf_event: a tracepoint's name, a uprobe's file and offset, an event's type and config", () => {
    using a = load("attach", ["on_kprobe"]);
    const bySection = (s: string) =>
      a.programs.find((p) => p.sectionName === s)!;
    {
      using link = bySection("tp/syscalls/sys_enter_getpid").attach();
      expect(infoOf(link)).toMatchObject({
        type: "perf_event",
        perfEventType: "tracepoint",
        tpName: "sys_enter_getpid",
        cookie: 0n,
      });
    }
    // The libc this process runs with, and getppid's offset in it (nm's
    // address: libc's text is mapped at its file offset).
    const libcPath = realpathSync(
      /\s(\/\S*\/libc\.so\.6)$/m.exec(
        readFileSync("/proc/self/maps", "utf8"),
      )![1]!,
    );
    const nm = execFileSync("nm", ["-D", "--defined-only", libcPath], {
      encoding: "utf8",
    });
    const getppid = parseInt(/^([0-9a-f]+) [TW] getppid@@/m.exec(nm)![1]!, 16);
    for (const [section, kind] of [
      ["uprobe", "uprobe"],
      ["uretprobe", "uretprobe"],
    ] as const) {
      using link = bySection(section).attachUprobe({
        binaryPath: libcPath,
        symbol: "getppid",
        retprobe: kind === "uretprobe",
        cookie: 0x1234n,
      });
      const info = infoOf(link);
      if (info.type !== "perf_event" || info.perfEventType !== kind)
        throw new Error(`expected a ${kind}, got ${JSON.stringify(info.type)}`);
      expect(info.fileName).toBe(libcPath);
      expect(info.offset).toBe(getppid);
      expect(info.cookie).toBe(0x1234n);
      expect(info.refCtrOffset).toBe(0n);
    }
    {
      using link = bySection("perf_event").attachPerfEvent({
        type: "software",
        config: "page-faults",
        period: 1000,
        cpu: 0,
      });
      expect(infoOf(link)).toMatchObject({
        type: "perf_event",
        perfEventType: "event",
        eventType: 1, // PERF_TYPE_SOFTWARE
        config: 2n, // PERF_COUNT_SW_PAGE_FAULTS
      });
    }
  });

  it.skipIf(!hasCgroup2)("cgroup: the cgroup id and attach type", () => {
    using k = load("attach_kinds");
    using link = k.program("on_device").attachCgroup(CGROUP2!);
    const info = infoOf(link);
    const b = bpftool(link.id);
    expect(info).toMatchObject({
      type: "cgroup",
      attachType: "cgroup_device",
      cgroupId: BigInt(statSync(CGROUP2!).ino),
    });
    if (info.type !== "cgroup") throw new Error("narrowing");
    expect(info.cgroupId).toBe(BigInt(b.cgroup_id as number));
    expect(info.attachType).toBe(b.attach_type);
  });

  it("netns: the namespace's inode and attach type", () => {
    using k = load("attach_kinds");
    using link = k.program("on_sk_lookup").attachNetns("/proc/self/ns/net");
    const b = bpftool(link.id);
    expect(infoOf(link)).toMatchObject({
      type: "netns",
      netnsIno: statSync("/proc/self/ns/net").ino,
      attachType: "sk_lookup",
    });
    expect(b).toMatchObject({
      netns_ino: statSync("/proc/self/ns/net").ino,
      attach_type: "sk_lookup",
    });
  });

  it("iter: the target's name and the map, task or cgroup it walks", () => {
    using it_ = load("iter");
    const elems = it_.map("elems");
    {
      using link = it_.program("dump_elems").attachIter({ map: elems });
      const info = infoOf(link);
      expect(info).toMatchObject({
        type: "iter",
        targetName: "bpf_map_elem",
        mapId: elems.id,
      });
      expect(bpftool(link.id)).toMatchObject({
        target_name: "bpf_map_elem",
        map_id: elems.id,
      });
    }
    const task = it_.programs.find((p) => p.sectionName === "iter/task")!;
    {
      using link = task.attachIter({ task: { pid: libc().getpid() } });
      expect(infoOf(link)).toMatchObject({
        type: "iter",
        targetName: "task",
        pid: libc().getpid(),
        tid: 0,
      });
      expect(bpftool(link.id)).toMatchObject({ pid: libc().getpid() });
    }
    if (CGROUP2) {
      const cg = it_.programs.find((p) => p.sectionName === "iter/cgroup")!;
      using link = cg.attachIter({
        cgroup: { path: CGROUP2, order: "descendants-pre" },
      });
      expect(infoOf(link)).toMatchObject({
        type: "iter",
        targetName: "cgroup",
        cgroupId: BigInt(statSync(CGROUP2).ino),
        order: "descendants-pre",
      });
      expect(bpftool(link.id)).toMatchObject({ order: "descendants_pre" });
    }
  });

  it("netfilter: family, hook, priority and flags", () => {
    using nf = load("netfilter");
    using link = nf.program("count_packets").attachNetfilter({
      family: "ipv6",
      hook: "input",
      priority: -7,
    });
    expect(infoOf(link)).toMatchObject({
      type: "netfilter",
      pf: 10,
      family: "ipv6",
      hooknum: 1,
      hook: "input",
      priority: -7,
      flags: 0,
    });
  });

  it("tcx: the interface and direction", () => {
    using tcx = load("tcx");
    const prog = tcx.programs.find((p) => p.sectionName === "tcx/egress")!;
    using link = prog.attachTcx("lo", { direction: "egress" });
    expect(infoOf(link)).toMatchObject({
      type: "tcx",
      ifindex: 1,
      attachType: "tcx_egress",
    });
  });

  it.skipIf(!sockmapLinks)("sockmap: the map and attach type", () => {
    using obj = load("sockmap");
    const socks = obj.map("socks");
    using link = obj.program("count_msg").attachSockmap(socks);
    expect(infoOf(link)).toMatchObject({
      type: "sockmap",
      mapId: socks.id,
      attachType: "sk_msg_verdict",
    });
  });

  it.skipIf(!hasIp)("xdp: the interface", () => {
    const dev = `tsbli${process.pid % 100000}`;
    execFileSync("ip", [
      "link",
      "add",
      dev,
      "type",
      "veth",
      "peer",
      "name",
      `${dev}p`,
    ]);
    try {
      const ifindex = Number(
        execFileSync("cat", [`/sys/class/net/${dev}/ifindex`], {
          encoding: "utf8",
        }).trim(),
      );
      using a = load("attach", ["on_kprobe"]);
      using link = a.program("xdp_filter").attachXdp(dev);
      expect(infoOf(link)).toMatchObject({ type: "xdp", ifindex });
      const b = bpftool(link.id);
      if ("ifindex" in b) expect(b.ifindex).toBe(ifindex);
    } finally {
      spawnSync("ip", ["link", "del", dev]);
    }
  });
});
