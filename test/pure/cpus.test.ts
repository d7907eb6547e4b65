/**
 * CPU lists (src/cpus.ts): the kernel's "0-3,5" format, and the online
 * CPUs a profiler attaches a perf event on, one each.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { onlineCpus, parseCpuList } from "../../mod.ts";
import { BpfTypeError, TsbpfError } from "../../src/errors.ts";

describe("CPU lists", () => {
  it("parses the kernel's CPU list format", () => {
    expect(parseCpuList("0\n")).toEqual([0]);
    expect(parseCpuList("0-3\n")).toEqual([0, 1, 2, 3]);
    expect(parseCpuList("0-1,4,6-7")).toEqual([0, 1, 4, 6, 7]);
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("\n")).toEqual([]);
    expect(() => parseCpuList("0-x")).toThrow(TsbpfError);
    expect(() => parseCpuList("3-1")).toThrow(/'3-1' in CPU list '3-1'/);
    expect(() => parseCpuList(3 as never)).toThrow(BpfTypeError);
  });

  it.skipIf(!existsSync("/sys/devices/system/cpu/online"))(
    "onlineCpus() lists /sys/devices/system/cpu/online",
    () => {
      const text = readFileSync("/sys/devices/system/cpu/online", "utf8");
      const cpus = onlineCpus();
      expect(cpus).toEqual(parseCpuList(text));
      expect(cpus.length).toBeGreaterThan(0);
      expect(cpus).toContain(0);
    },
  );
});
