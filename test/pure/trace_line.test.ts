/**
 * Parsing trace_pipe lines (src/trace_line.ts). The samples are lines a
 * 6.18 kernel wrote, with the tracefs options that change the format
 * (irq-info, record-tgid, trace_clock), plus hand-made edge cases.
 */
import { describe, expect, it } from "vitest";
import { TraceLineSplitter, parseTraceLine } from "../../src/trace_line.ts";

describe("parseTraceLine", () => {
  it("reads a bpf_printk line: task, pid, cpu, flags, timestamp, message", () => {
    const raw =
      "             bun-26913   [001] ...21 40691.886462: bpf_trace_printk: tsbpf-trace-pipe cookie=12345 seq=0";
    expect(parseTraceLine(raw)).toEqual({
      raw,
      task: "bun",
      pid: 26913,
      cpu: 1,
      flags: "...21",
      timestamp: 40691.886462,
      event: "bpf_trace_printk",
      message: "tsbpf-trace-pipe cookie=12345 seq=0",
    });
  });

  it("cuts the newline and keeps the rest of the message whole", () => {
    const l = parseTraceLine(
      "            bash-27558   [001] ...1. 40722.346831: tracing_mark_write: plain marker: with colon: x\n",
    );
    expect(l.raw.endsWith("x")).toBe(true);
    expect(l.event).toBe("tracing_mark_write");
    expect(l.message).toBe("plain marker: with colon: x");
  });

  it("without the irq-info column (noirq-info): flags are empty", () => {
    const l = parseTraceLine(
      "            bash-27558   [001]  40722.375603: tracing_mark_write: noirq marker",
    );
    expect(l).toMatchObject({
      task: "bash",
      pid: 27558,
      cpu: 1,
      flags: "",
      timestamp: 40722.375603,
      message: "noirq marker",
    });
  });

  it("with record-tgid: the tgid column, or none when unknown", () => {
    const l = parseTraceLine(
      "            bash-27558   (  27558) [000] ...1. 40722.483517: tracing_mark_write: tgid irq marker",
    );
    expect(l).toMatchObject({ pid: 27558, tgid: 27558, flags: "...1." });
    const n = parseTraceLine(
      "            bash-27558   (  27558) [000]  40722.407994: tracing_mark_write: tgid marker",
    );
    expect(n).toMatchObject({ tgid: 27558, cpu: 0, flags: "" });
    const u = parseTraceLine(
      "          <idle>-0       (-------) [001] d..2. 100.000001: bpf_trace_printk: x",
    );
    expect(u.tgid).toBeUndefined();
    expect(u).toMatchObject({ task: "<idle>", pid: 0, message: "x" });
  });

  it("a counter clock's timestamp is the raw count", () => {
    const l = parseTraceLine(
      "            bash-27558   [000] ...1.            5: tracing_mark_write: counter clock",
    );
    expect(l).toMatchObject({ timestamp: 5, flags: "...1.", cpu: 0 });
  });

  it("older kernels' four flag columns", () => {
    const l = parseTraceLine(
      "          <idle>-0     [003] d.h1  1234.567890: bpf_trace_printk: old",
    );
    expect(l).toMatchObject({ flags: "d.h1", pid: 0, cpu: 3, message: "old" });
  });

  it("task names with dashes, spaces, slashes, or not recorded", () => {
    const cases: [string, string, number][] = [
      ["    my-worker-1-42      [000] ..... 1.000000: e: m", "my-worker-1", 42],
      ["       a b c-7        [000] ..... 1.000000: e: m", "a b c", 7],
      [
        "kworker/u4:2-ev-123456 [001] ..... 1.000000: e: m",
        "kworker/u4:2-ev",
        123456,
      ],
      ["           <...>-24249   [000] ...1. 2.5: e: m", "<...>", 24249],
      ["        x-12-13 [000] ..... 1.000000: e: m", "x-12", 13],
      ["                -5       [000] ..... 1.000000: e: m", "", 5],
    ];
    for (const [raw, task, pid] of cases) {
      expect(parseTraceLine(raw)).toMatchObject({ task, pid, message: "m" });
    }
  });

  it("a pid wider than the 7-column field", () => {
    const l = parseTraceLine(
      "          stress-4194303 [001] ..... 9.000001: bpf_trace_printk: big",
    );
    expect(l).toMatchObject({ task: "stress", pid: 4194303 });
  });

  it("a message that looks like a context does not move the split", () => {
    const l = parseTraceLine(
      "             bun-10      [000] ..... 5.000000: bpf_trace_printk: fake-99 [001] ..... 6.000000: bpf_trace_printk: y",
    );
    expect(l).toMatchObject({ task: "bun", pid: 10, cpu: 0, timestamp: 5 });
    expect(l.message).toBe("fake-99 [001] ..... 6.000000: bpf_trace_printk: y");
  });

  it("an empty bpf_printk message", () => {
    const l = parseTraceLine(
      "             bun-10      [000] ..... 5.000000: bpf_trace_printk: ",
    );
    expect(l).toMatchObject({ event: "bpf_trace_printk", message: "" });
  });

  it("other events and tracers: event name, kernel trace_printk, function tracer", () => {
    expect(
      parseTraceLine(
        "            true-27582   [000] ..... 40722.636415: sched_process_exit: comm=true pid=27582 prio=120 group_dead=true",
      ),
    ).toMatchObject({
      event: "sched_process_exit",
      message: "comm=true pid=27582 prio=120 group_dead=true",
    });
    expect(
      parseTraceLine(
        "          insmod-1234    [000] ..... 1.000000: my_init: hello from a module",
      ),
    ).toMatchObject({ event: "my_init", message: "hello from a module" });
    const f = parseTraceLine(
      "             cat-2212    [000] d.h..   369.060000: arch_local_irq_restore <-generic_atomic64_read",
    );
    expect(f.event).toBeUndefined();
    expect(f.message).toBe("arch_local_irq_restore <-generic_atomic64_read");
    expect(f.timestamp).toBe(369.06);
  });

  it("lost-events lines: cpu and count", () => {
    expect(parseTraceLine("CPU:3 [LOST 1337 EVENTS]")).toEqual({
      raw: "CPU:3 [LOST 1337 EVENTS]",
      message: "CPU:3 [LOST 1337 EVENTS]",
      cpu: 3,
      lost: 1337,
    });
    expect(parseTraceLine("CPU:0 [LOST EVENTS]")).toMatchObject({
      cpu: 0,
      lost: -1,
    });
  });

  it("anything else keeps only raw and message, and never throws", () => {
    for (const raw of [
      "second line of a message",
      "    bash-27558     0...1. 16298us : tracing_mark_write: latency fmt",
      "tracing_mark_write: no context",
      "",
      "-",
      "x-1 [",
      "x-1 [0] ",
      "x-1 [0] .... 1.0:",
      "\u0000\uffff-\ud800 [9] d 1.2: e: m",
    ]) {
      const l = parseTraceLine(raw);
      if (raw.startsWith("\u0000")) continue; // parses: any comm goes
      expect(l).toEqual({ raw, message: raw });
    }
    for (let i = 0; i < 2000; i++) {
      let s = "";
      const n = (i * 7919) % 60;
      for (let j = 0; j < n; j++)
        s += "ab -[](0)1.: \t\n"[(i * 31 + j * 17) % 15];
      const l = parseTraceLine(s);
      expect(typeof l.message).toBe("string");
    }
  });
});

describe("TraceLineSplitter", () => {
  const enc = new TextEncoder();
  const line = (msg: string) =>
    `             bun-10      [000] ..... 5.000000: bpf_trace_printk: ${msg}\n`;

  it("joins a line cut across reads, and a UTF-8 character cut in two", () => {
    const s = new TraceLineSplitter();
    const bytes = enc.encode(line("héllo ✓") + line("two"));
    const cut1 = 20;
    const cut2 = bytes.indexOf(0xe2) + 1; // inside the 3-byte check mark
    expect(s.push(bytes.subarray(0, cut1))).toEqual([]);
    expect(s.push(bytes.subarray(cut1, cut2))).toEqual([]);
    const got = s.push(bytes.subarray(cut2));
    expect(got.map((l) => l.message)).toEqual(["héllo ✓", "two"]);
  });

  it("skips the empty line a message's own trailing newline leaves", () => {
    const s = new TraceLineSplitter();
    const got = s.push(enc.encode(line("with newline\n") + line("next")));
    expect(got.map((l) => l.message)).toEqual(["with newline", "next"]);
  });

  it("a second line of a message arrives unparsed, raw", () => {
    const s = new TraceLineSplitter();
    const got = s.push(enc.encode(line("first\nsecond")));
    expect(got[1]).toEqual({ raw: "second", message: "second" });
  });
});
