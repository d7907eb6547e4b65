/**
 * Input the readers must refuse before anything trusts it: BTF whose type
 * ids point nowhere (libbpf crashes on it), and paths that are not regular
 * files (a FIFO blocks a reader forever, /dev/zero never ends).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Btf } from "../../src/btf/btf.ts";
import { readElf } from "../../src/elf/reader.ts";
import { BtfError, BtfTypeError, TsbpfError } from "../../src/errors.ts";
import { readFileBytes } from "../../src/io.ts";
import { checkObjectBytes } from "../../src/object_check.ts";
import { withDanglingVar } from "../_support/corrupt_btf.ts";
import { ROOT, fixture, thrown } from "../_support/fixtures.ts";

const BIN = join(ROOT, "node_modules/.bin");

describe("BTF checked whole before libbpf sees it", () => {
  it("finds a dangling type id that decoding on demand would reach only later", () => {
    const bad = withDanglingVar(readFileBytes(fixture("maps")));
    const btf = Btf.fromElf(readElf(bad));
    const e = thrown(() => btf.checkAll());
    expect(e).toBeInstanceOf(BtfError);
    expect(e.message).toMatch(/refers to type \d+, which does not exist/);
    const open = thrown(() => checkObjectBytes(bad, "maps.bpf.o"));
    expect(open).toBeInstanceOf(BtfError);
    expect(open.message).toMatch(
      /^maps\.bpf\.o: its BTF is corrupt: type \d+ refers/,
    );
    expect((open as BtfError).hint).toMatch(/libbpf would crash on it/);
  });

  it("passes every fixture and vmlinux", () => {
    fixture("maps"); // builds the fixtures when missing
    const dir = join(ROOT, "build/fixtures");
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".bpf.o"))) {
      checkObjectBytes(readFileBytes(join(dir, f)), f);
    }
    if (existsSync("/sys/kernel/btf/vmlinux")) Btf.kernel().checkAll();
  });
});

describe("Btf.fromBytes takes bytes", () => {
  it("names what it got instead", () => {
    for (const [x, what] of [
      [null, "null"],
      ["abc", "string"],
      [new ArrayBuffer(8), "an ArrayBuffer \\(wrap it"],
    ] as const) {
      const e = thrown(() => Btf.fromBytes(x as never));
      expect(e).toBeInstanceOf(BtfTypeError);
      expect(e.message).toMatch(new RegExp(`as a Uint8Array, got ${what}`));
    }
  });
});

describe("paths that are not regular files", () => {
  const hasMkfifo = spawnSync("sh", ["-c", "command -v mkfifo"]).status === 0;

  it("a device is refused, not read forever", () => {
    for (const read of [
      () => readFileBytes("/dev/zero"),
      () => Btf.fromFile("/dev/zero"),
    ]) {
      const e = thrown(read);
      expect(e).toBeInstanceOf(TsbpfError);
      expect(e.message).toMatch(/not a regular file/);
    }
  });

  it.skipIf(!hasMkfifo)(
    "a FIFO is refused, not waited on (library and CLI)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-fifo-"));
      try {
        const fifo = join(dir, "f");
        spawnSync("mkfifo", [fifo]);
        expect(() => Btf.fromFile(fifo)).toThrow(/not a regular file/);
        for (const cmd of [
          [join(BIN, "bun"), join(ROOT, "codegen/cli.ts")],
          [join(BIN, "deno"), "run", "-A", join(ROOT, "codegen/cli.ts")],
        ]) {
          const r = spawnSync(cmd[0]!, [...cmd.slice(1), "types", fifo], {
            encoding: "utf8",
            timeout: 20_000,
          });
          expect(r.signal).toBeNull(); // not killed by the timeout
          expect(r.status).not.toBe(0);
          expect(r.stderr).toMatch(/not a regular file/);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
