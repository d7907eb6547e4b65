/**
 * What a uprobe or USDT attach says when its target is not there: a binary
 * libbpf cannot find by name, a symbol it cannot resolve, a process that
 * has exited.
 */
import { describe, expect, it } from "vitest";
import { BpfError } from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

/** The attach fixture loaded (its kprobe left out: kprobes may be compiled out). */
function openAttach(): BpfObject {
  const obj = BpfObject.open(fixture("attach"));
  obj.program("on_kprobe").autoload = false;
  obj.load();
  return obj;
}

describe.skipIf(!root)("uprobe and USDT targets", () => {
  it("a bare program name libbpf does not find on PATH: the hint says where it looked", () => {
    using obj = openAttach();
    const e = thrown(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "tsbpf-no-such-program",
        symbol: "main",
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("ENOENT");
    expect(e.hint).toMatch(
      /libbpf found no 'tsbpf-no-such-program': .* PATH, \/usr\/bin and \/usr\/sbin.*\.\/name/,
    );
    expect(e.hint).not.toMatch(/no function/);
  });

  it("a bare library name libbpf does not find: the hint names the library directories", () => {
    using obj = openAttach();
    const e = thrown(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "libtsbpf-nope.so.1",
        symbol: "f",
      }),
    ) as BpfError;
    expect(e.hint).toMatch(
      /libbpf found no 'libtsbpf-nope.so.1': .*LD_LIBRARY_PATH/,
    );
  });

  it("attachUsdt with a bare name libbpf does not find: not 'no USDT probe'", () => {
    using obj = BpfObject.open(fixture("usdt"));
    obj.load();
    const e = thrown(() =>
      obj.program("on_tick").attachUsdt({
        binaryPath: "tsbpf-no-such-program",
        provider: "tsbpf",
        name: "tick",
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.hint).toMatch(/libbpf found no 'tsbpf-no-such-program'/);
  });
});
