import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readElf, isElf } from "../../src/elf/reader.ts";
import type { ElfFile } from "../../src/elf/file.ts";
import { findFunctions, functionLabel } from "../../src/elf/functions.ts";
import { SHT, STB, STT } from "../../src/elf/types.ts";
import { Btf } from "../../src/btf/btf.ts";
import { BtfError, ElfError } from "../../src/errors.ts";
import { readFileBytes } from "../../src/io.ts";
import { fixture, need, ROOT } from "../_support/fixtures.ts";

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const readelf = has("readelf")
  ? "readelf"
  : has("llvm-readelf")
    ? "llvm-readelf"
    : "";
const hasClang = has("clang");

function run(args: string[]): string {
  return execFileSync(readelf, ["-W", ...args], {
    maxBuffer: 1 << 26,
  }).toString();
}

/** Sections per `readelf -S`: index, name, offset, size, entsize, link, info, align. */
function refSections(path: string): { rows: number[][]; names: string[] } {
  const rows: number[][] = [];
  const names: string[] = [];
  for (const line of run(["-S", path]).split("\n")) {
    const m = /^\s*\[\s*(\d+)\]\s(.*)$/.exec(line);
    if (!m) continue;
    const tok = m[2].trim().split(/\s+/);
    const a = tok.findIndex((t) => /^[0-9a-f]{16}$/.test(t));
    if (a < 0) continue;
    names.push(a === 2 ? tok[0] : "");
    const [off, size, es] = tok.slice(a + 1, a + 4).map((x) => parseInt(x, 16));
    const [lk, inf, al] = tok.slice(-3).map(Number);
    rows.push([Number(m[1]), parseInt(tok[a], 16), off, size, es, lk, inf, al]);
  }
  return { rows, names };
}

const TYPES: Record<string, number> = {
  NOTYPE: STT.NOTYPE,
  OBJECT: STT.OBJECT,
  FUNC: STT.FUNC,
  SECTION: STT.SECTION,
  FILE: STT.FILE,
};
const BINDS: Record<string, number> = {
  LOCAL: STB.LOCAL,
  GLOBAL: STB.GLOBAL,
  WEAK: STB.WEAK,
};
const NDX: Record<string, number> = { UND: 0, ABS: 0xfff1, COM: 0xfff2 };

/** Symbols per `readelf -s`: [index, value, size, type, bind, ndx, name]. */
function refSymbols(path: string): (number | string)[][] {
  const out: (number | string)[][] = [];
  for (const line of run(["-s", path]).split("\n")) {
    const m =
      /^\s*(\d+):\s+([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$/.exec(
        line,
      );
    if (!m) continue;
    const size = m[3].startsWith("0x") ? parseInt(m[3], 16) : Number(m[3]);
    out.push([
      Number(m[1]),
      parseInt(m[2], 16),
      size,
      TYPES[m[4]] ?? -1,
      BINDS[m[5]] ?? -1,
      NDX[m[7]] ?? Number(m[7]),
      m[8],
    ]);
  }
  return out;
}

/** Relocations per `readelf -r`: section name → [offset, sym, type, addend?]. */
function refRelocations(path: string): Map<string, number[][]> {
  const out = new Map<string, number[][]>();
  let cur: number[][] | undefined;
  let rela = false;
  for (const line of run(["-r", path]).split("\n")) {
    const head = /^Relocation section '(.*)' at offset/.exec(line);
    if (head) {
      cur = [];
      rela = false;
      out.set(head[1], cur);
      continue;
    }
    if (/Addend/.test(line)) rela = true;
    const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+\S+\s*(.*)$/.exec(line);
    if (!m || !cur) continue;
    const info = BigInt(`0x${m[2]}`);
    const row = [
      parseInt(m[1], 16),
      Number(info >> 32n),
      Number(info & 0xffffffffn),
    ];
    if (rela) {
      const a = /([+-]) ([0-9a-f]+)$/.exec(m[3]);
      const last = m[3].trim().split(/\s+/).pop()!;
      row.push(
        a ? (a[1] === "-" ? -1 : 1) * parseInt(a[2], 16) : parseInt(last, 16),
      );
    }
    cur.push(row);
  }
  return out;
}

function compareWithReadelf(path: string, elf: ElfFile): void {
  const secs = refSections(path);
  expect(elf.sections.length).toBe(secs.rows.length);
  expect(
    elf.sections.map((s) => [
      s.index,
      Number(s.addr),
      s.offset,
      s.size,
      s.entsize,
      s.link,
      s.info,
      s.addralign,
    ]),
  ).toEqual(secs.rows);
  expect(elf.sections.map((s) => s.name)).toEqual(secs.names);
  expect(
    elf.symbols.map((s) => [
      s.index,
      Number(s.value),
      Number(s.size),
      s.type,
      s.bind,
      s.sectionIndex,
      // readelf prints a section symbol with its section's name.
      s.type === STT.SECTION && !s.name
        ? elf.sections[s.sectionIndex].name
        : s.name,
    ]),
  ).toEqual(refSymbols(path));
  const rels = refRelocations(path);
  expect(elf.relocationSections.map((r) => r.section.name)).toEqual([
    ...rels.keys(),
  ]);
  for (const r of elf.relocationSections) {
    expect(
      r.relocations.map((x) =>
        r.withAddends
          ? [x.offset, x.symbolIndex, x.type, Number(x.addend)]
          : [x.offset, x.symbolIndex, x.type],
      ),
    ).toEqual(rels.get(r.section.name));
  }
}

function compile(target: string, src: string, out: string): void {
  execFileSync("clang", [
    "-g",
    "-O2",
    "-target",
    target,
    "-I/usr/include/x86_64-linux-gnu",
    `-I${ROOT}/build`,
    "-c",
    src,
    "-o",
    out,
  ]);
}

describe("ELF reader", () => {
  const path = fixture("btf_types");

  it("reads the fixture's header, BPF sections and symbols", () => {
    const elf = readElf(readFileBytes(path));
    expect(elf.byteOrder).toBe("le");
    expect(elf.header.machine).toBe(247);
    expect(elf.header.type).toBe(1);
    for (const name of [
      ".BTF",
      ".BTF.ext",
      ".maps",
      "license",
      ".rodata",
      ".data",
      ".bss",
    ]) {
      expect(elf.section(name)?.name).toBe(name);
    }
    expect(new TextDecoder().decode(elf.section("license")!.data)).toBe(
      "GPL\0",
    );
    expect(elf.section(".bss")!.type).toBe(SHT.NOBITS);
    expect(elf.section(".bss")!.data.length).toBe(0);
    const prog = elf.section("tracepoint/syscalls/sys_enter_getpid")!;
    expect(elf.symbolsIn(prog.index).map((s) => s.name)).toContain(
      "count_getpid",
    );
    const rel = elf.relocationsFor(prog)!;
    const targets = rel.relocations.map((r) => elf.symbols[r.symbolIndex].name);
    expect(targets).toEqual(["stats", "config_rodata", "counter_bss"]);
    expect(elf.symbol("counter_data")!.value).toBe(8n);
  });

  it.skipIf(!need(readelf !== "", "readelf/llvm-readelf not installed"))(
    "matches readelf: sections, symbols, relocations (REL)",
    () => {
      compareWithReadelf(path, readElf(readFileBytes(path)));
    },
  );

  it.skipIf(!need(hasClang && readelf !== "", "clang or readelf missing"))(
    "matches readelf on a big-endian (bpfeb) object and a host RELA object",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-elf-"));
      try {
        const be = join(dir, "be.o");
        compile("bpfeb", join(ROOT, "fixtures/btf_types.bpf.c"), be);
        const beElf = readElf(readFileBytes(be));
        expect(beElf.byteOrder).toBe("be");
        compareWithReadelf(be, beElf);

        const src = join(dir, "host.c");
        writeFileSync(
          src,
          'extern int puts(const char *);\nstatic const char *msg = "hi";\nint f(int x) { puts(msg); return x + 1; }\nlong g = -5;\n',
        );
        const host = join(dir, "host.o");
        compile("x86_64-linux-gnu", src, host);
        const hostElf = readElf(readFileBytes(host));
        expect(hostElf.relocationSections.some((r) => r.withAddends)).toBe(
          true,
        );
        compareWithReadelf(host, hostElf);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );

  it.skipIf(!need(hasClang && readelf !== "", "clang or readelf missing"))(
    "reads a linked executable: its dynamic relocations are skipped, and a .BTF section in it is found",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-elf-"));
      try {
        const src = join(dir, "main.c");
        writeFileSync(
          src,
          'extern int puts(const char *);\nint main(void) { return puts("hi"); }\n',
        );
        const exe = join(dir, "main");
        execFileSync("clang", ["-fPIE", "-pie", src, "-o", exe]);
        const elf = readElf(readFileBytes(exe));
        expect(elf.sections.some((s) => s.name === ".rela.dyn")).toBe(true);
        expect(elf.relocationSections).toEqual([]);
        expect(() => Btf.fromFile(exe)).toThrow(BtfError);
        expect(() => Btf.fromFile(exe)).toThrow(
          /is an x86-64 executable or shared object, not a BPF object, and has no \.BTF section/,
        );

        const btf = join(dir, "types.btf");
        writeFileSync(btf, readElf(readFileBytes(path)).section(".BTF")!.data);
        const withBtf = join(dir, "main-btf");
        execFileSync("llvm-objcopy", [
          `--add-section=.BTF=${btf}`,
          exe,
          withBtf,
        ]);
        expect(Btf.fromFile(withBtf).type("exec_event").size).toBe(
          Btf.fromFile(path).type("exec_event").size,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );

  it("rejects non-ELF and truncated input with ElfError and an offset", () => {
    expect(isElf(new Uint8Array([1, 2, 3]))).toBe(false);
    expect(() => readElf(new Uint8Array(0))).toThrow(ElfError);
    expect(() => readElf(new TextEncoder().encode("hello world"))).toThrow(
      /not an ELF file/,
    );
    const bytes = readFileBytes(path);
    for (const n of [4, 20, 63, 64, 200, bytes.length - 1]) {
      let err: unknown;
      try {
        readElf(bytes.slice(0, n));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ElfError);
      expect(typeof (err as ElfError).offset).toBe("number");
    }
    const b32 = bytes.slice();
    b32[4] = 1;
    expect(() => readElf(b32)).toThrow(/ELF64/);
  });
});

const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";
describe.skipIf(
  !need(
    readelf !== "" && existsSync(LIBC),
    `no readelf, or no ${LIBC}, to compare findFunctions with`,
  ),
)("findFunctions (uprobe targets by name and version)", () => {
  it("gives libc's versions and IFUNCs as readelf --dyn-syms does", () => {
    const file = readElf(readFileBytes(LIBC));
    const lines = run(["--dyn-syms", LIBC]).split("\n");
    for (const name of ["realpath", "memcpy", "strlen", "malloc"]) {
      // "  827: 000000000003d560  1966 FUNC  GLOBAL DEFAULT 16 realpath@@GLIBC_2.3"
      const want = lines
        .map((l) => l.trim().split(/\s+/))
        .filter(
          (f) =>
            f.length >= 8 &&
            f[6] !== "UND" &&
            (f[3] === "FUNC" || f[3] === "IFUNC") &&
            f[7]!.split("@")[0] === name,
        )
        .map((f) => `${f[7]} ${f[3]} ${BigInt(`0x${f[1]}`)}`)
        .sort();
      const got = findFunctions(file, name)
        .filter((f) => f.table === ".dynsym")
        .map(
          (f) =>
            `${functionLabel(f)} ${f.ifunc ? "IFUNC" : "FUNC"} ${f.address}`,
        )
        .sort();
      expect(got).toEqual(want);
    }
  });
});
