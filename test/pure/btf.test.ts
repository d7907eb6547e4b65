import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Btf } from "../../src/btf/btf.ts";
import { BtfBuilder } from "../../src/btf/marshal.ts";
import type { BtfType } from "../../src/btf/types.ts";
import { readElf } from "../../src/elf/reader.ts";
import { BtfError, BtfNotFoundError, TsbpfError } from "../../src/errors.ts";
import { readFileBytes } from "../../src/io.ts";
import { fixture, need, ROOT } from "../_support/fixtures.ts";
import { rawBtfBytes } from "../_support/raw_btf.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const hasBpftool = has("bpftool");
const hasClang = has("clang");

// deno-lint-ignore no-explicit-any
type Json = any;

function bpftoolDump(path: string, base?: string): Json[] {
  const args = ["btf", "dump", "file", path, "-j"];
  if (base) args.splice(4, 0, "--base-btf", base);
  const out = execFileSync("bpftool", args, { maxBuffer: 1 << 30 }).toString();
  return JSON.parse(out).types;
}

const anon = (s: string) => s || "(anon)";

/** Our decoding of one type in bpftool's JSON shape (the fields bpftool prints). */
function asBpftool(t: BtfType): Json {
  const o: Json = { id: t.id, kind: t.kind.toUpperCase(), name: anon(t.name) };
  switch (t.kind) {
    case "int":
      return {
        ...o,
        size: t.size,
        bits_offset: t.bitOffset,
        nr_bits: t.bits,
        encoding: t.encoding.bool
          ? "BOOL"
          : t.encoding.char
            ? "CHAR"
            : t.encoding.signed
              ? "SIGNED"
              : "(none)",
      };
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return { ...o, type_id: t.targetId };
    case "array":
      return {
        ...o,
        type_id: t.elementId,
        index_type_id: t.indexId,
        nr_elems: t.length,
      };
    case "struct":
    case "union":
      return {
        ...o,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.typeId,
          bits_offset: m.bitOffset,
          ...(m.bitSize ? { bitfield_size: m.bitSize } : {}),
        })),
      };
    case "enum":
    case "enum64":
      return {
        ...o,
        encoding: t.signed ? "SIGNED" : "UNSIGNED",
        size: t.size,
        vlen: t.values.length,
        // bpftool 7.1 prints unsigned 32-bit enum values sign-extended to 64 bits.
        values: t.values.map((v) => ({
          name: v.name,
          val: Number(
            t.kind === "enum" && !t.signed
              ? BigInt.asUintN(64, BigInt.asIntN(32, v.value))
              : v.value,
          ),
        })),
      };
    case "fwd":
      return { ...o, fwd_kind: t.fwdKind };
    case "func":
      return { ...o, type_id: t.targetId, linkage: t.linkage };
    case "func_proto":
      return {
        ...o,
        ret_type_id: t.returnId,
        vlen: t.params.length,
        params: t.params.map((p) => ({
          name: anon(p.name),
          type_id: p.typeId,
        })),
      };
    case "var":
      return {
        ...o,
        type_id: t.targetId,
        linkage: t.linkage === "global" ? "global" : t.linkage,
      };
    case "datasec":
      return {
        ...o,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({
          type_id: v.typeId,
          offset: v.offset,
          size: v.size,
        })),
      };
    case "float":
      return { ...o, size: t.size };
    case "decl_tag":
      return { ...o, type_id: t.targetId, component_idx: t.componentIdx };
    default:
      return o;
  }
}

/** bpftool JSON with the fields we compare (it prints VAR linkage "global-alloc" in some versions). */
function normalize(j: Json): Json {
  const o = { ...j };
  if (o.kind === "VAR" && o.linkage === "global-alloc") o.linkage = "global";
  if (o.kind === "VAR" && o.linkage === "global-extern") o.linkage = "extern";
  if (o.kind === "ENUM64") o.kind = "ENUM64";
  return o;
}

function compareAll(btf: Btf, ref: Json[]): void {
  const mismatches: string[] = [];
  for (const j of ref) {
    const ours = asBpftool(btf.typeById(j.id));
    const want = normalize(j);
    if (JSON.stringify(ours) !== JSON.stringify(want)) {
      mismatches.push(
        `ours ${JSON.stringify(ours)}\nbpftool ${JSON.stringify(want)}`,
      );
      if (mismatches.length > 3) break;
    }
  }
  expect(mismatches).toEqual([]);
}

describe("BTF of the fixture object", () => {
  const path = fixture("btf_types");

  it.skipIf(
    !need(hasBpftool, "bpftool not installed: cannot compare with bpftool"),
  )("matches bpftool btf dump -j for every type", () => {
    const btf = Btf.fromFile(path);
    const ref = bpftoolDump(path);
    expect(btf.count).toBe(ref.length);
    expect(btf.byteOrder).toBe("le");
    compareAll(btf, ref);
  });

  it("gives fields of structs, with bitfields", () => {
    const btf = Btf.fromFile(path);
    const bf = btf.type("bitfields");
    expect(bf.kind).toBe("struct");
    if (bf.kind !== "struct") return;
    const f = bf.fields.map((x) => [
      x.name,
      x.offset,
      x.size,
      x.bitOffset,
      x.bitSize,
    ]);
    expect(f).toEqual([
      ["a", 0, 4, 0, 3],
      ["b", 0, 4, 3, 5],
      ["c", 1, 4, 8, 7],
      ["d", 1, 4, 15, 17],
      ["e", 8, 8, 64, 40],
      ["f", 13, 1, 104, 1],
      ["tail", 14, 2, 112, 0],
    ]);
    const ev = btf.type("exec_event", "struct");
    expect(ev.name).toBe("exec_event");
    if (ev.kind === "struct") {
      expect(ev.fields.find((x) => x.name === "comm")?.type.toString()).toBe(
        "char[16]",
      );
    }
  });

  it("finds by name and kind, prefers struct/union/enum then typedef", () => {
    const btf = Btf.fromFile(path);
    expect(btf.find("top_union")?.kind).toBe("union");
    expect(btf.find("big_enum")?.kind).toMatch(/^enum/);
    expect(btf.find("big_enum", "enum")?.name).toBe("big_enum");
    expect(btf.find("cv_timestamp_t")?.kind).toBe("typedef");
    expect(btf.find("exec_event", "union")).toBeUndefined();
    expect(btf.find("nope")).toBeUndefined();
    expect(btf.find("count_getpid")?.kind).toBe("func");
    expect(btf.find(".maps", "datasec")?.kind).toBe("datasec");
    // Past the scan budget, lookups go through the lazy hash index; same answers.
    for (let i = 0; i < 20; i++)
      expect(btf.find("exec_event")?.kind).toBe("struct");
    expect(btf.findIds("__u32")).toEqual(btf.findIds("__u32", "typedef"));
  });

  it("iterates all types, count of them", () => {
    const btf = Btf.fromFile(path);
    const all = [...btf];
    expect(all.length).toBe(btf.count);
    expect(all[0].id).toBe(1);
    expect(btf.typeById(0).kind).toBe("void");
    expect(() => btf.typeById(btf.count + 1)).toThrow(BtfError);
  });

  it("raises BtfNotFoundError with near names and the usual cause", () => {
    const btf = Btf.fromFile(path);
    let err: unknown;
    try {
      btf.type("exec_evnt");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BtfNotFoundError);
    const e = err as BtfNotFoundError;
    expect(e.typeName).toBe("exec_evnt");
    expect(e.suggestions.join()).toContain("exec_event");
    expect(e.message).toContain("pointer local");
    expect(e.message).toContain("`struct exec_evnt _anchor = {};`");
    expect(e.message).toContain("__type(value, struct exec_evnt)");
    expect(() => btf.type("process", "struct")).toThrow(/process_stats/);
  });

  it("explains a missing struct by case: body dropped, kernel BTF, scalar or empty name", () => {
    const b = new BtfBuilder();
    const u32 = b.typedef("u32", b.int("unsigned int", 4));
    b.fwd("fwd_only");
    for (const n of ["s", "uu", "xtm", "exec_event"])
      b.struct(n, 4, [{ name: "x", type: u32, bitOffset: 0 }]);
    const obj = Btf.fromBytes(b.toBytes(), { source: "prog.bpf.o" });
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as BtfNotFoundError;
      }
      throw new Error("no error");
    };
    // A forward declaration is what clang keeps of a struct it saw only
    // behind a pointer: same hint as for a struct missing altogether.
    const fwd = thrown(() => obj.struct("fwd_only"));
    expect(fwd).toBeInstanceOf(BtfNotFoundError);
    expect(fwd.message).toMatch(/'fwd_only' .* is only forward-declared/);
    expect(fwd.hint).toContain("`struct fwd_only _anchor = {};`");
    expect(thrown(() => obj.type("fwd_only", "struct")).message).toMatch(
      /no struct named 'fwd_only' .*\(only a forward declaration\)/,
    );
    expect(thrown(() => obj.struct("exec_evnt")).hint).toContain("_anchor");
    // Scalars: say what the name is, not "struct u32 _anchor".
    expect(thrown(() => obj.struct("u32")).message).toMatch(
      /'u32' in prog\.bpf\.o is a typedef of unsigned int \(an int\), not a struct or union/,
    );
    const s64 = thrown(() => obj.struct("__s64"));
    expect(s64.hint).toMatch(
      /'__s64' names a scalar type.*codecForLayout\("s64"\)/,
    );
    expect(s64.hint).not.toContain("_anchor");
    // Empty names are a usage error, with no near names.
    expect(() => obj.struct("")).toThrow(/name is empty/);
    expect(() => obj.struct("")).not.toThrow(BtfNotFoundError);
    const empty = thrown(() => obj.type(""));
    expect(empty.suggestions).toEqual([]);
    expect(empty.message).toMatch(
      /^no type named '' in prog\.bpf\.o: anonymous types have no name to look up/,
    );
    // Near names: typos, not whatever is short.
    expect(thrown(() => obj.struct("exec_evnt")).suggestions).toEqual([
      "struct exec_event",
    ]);
    expect(thrown(() => obj.struct("ab")).suggestions).toEqual([]);
    expect(thrown(() => obj.struct("xyz")).suggestions).toEqual([]);
    expect(thrown(() => obj.struct("S")).suggestions).toEqual(["struct s"]);
    // Kernel BTF: nobody compiled it with their program, so no clang hint;
    // told apart by its path or its per-CPU data section.
    const sys = Btf.fromBytes(b.toBytes(), {
      source: "/sys/kernel/btf/vmlinux",
    });
    b.datasec(".data..percpu", 0, []);
    const copy = Btf.fromBytes(b.toBytes(), { source: "vmlinux.btf" });
    for (const k of [sys, copy]) {
      for (const e of [
        thrown(() => k.struct("exec_evnt")),
        thrown(() => k.struct("fwd_only")),
      ])
        expect([e.message, e.hint]).toEqual([e.message, undefined]);
      expect(thrown(() => k.struct("exec_evnt")).suggestions).toEqual([
        "struct exec_event",
      ]);
    }
  });

  it("says a split BTF read without its base needs one, and reads it with { base }", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, { signed: true });
    b.struct("base_s", 4, [{ name: "i", type: int, bitOffset: 0 }]);
    const base = Btf.fromBytes(b.toBytes());
    // [3] struct mod_s { int x; }: names continue the base's strings, as a
    // kernel module's BTF (pahole, libbpf) does; no leading empty string.
    const own = new TextEncoder().encode("mod_s\0x\0");
    const at = (n: number) => base.strings.end + n;
    const words = [at(0), (4 << 24) | 1, 4, at(6), int.id, 0];
    const bytes = rawBtfBytes(words, own);
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-split-"));
    try {
      const file = join(dir, "mod.btf");
      writeFileSync(file, bytes);
      for (const f of [() => Btf.fromFile(file), () => Btf.fromBytes(bytes)]) {
        let err: BtfError | undefined;
        try {
          f();
        } catch (e) {
          err = e as BtfError;
        }
        expect(err).toBeInstanceOf(BtfError);
        expect(err!.message).toMatch(/looks like split BTF/);
        expect(err!.hint).toContain(
          "Btf.fromFile(path, { base: Btf.kernel() })",
        );
      }
      const split = Btf.fromFile(file, { base });
      expect(split.firstId).toBe(3);
      expect(
        split
          .type("mod_s", "struct")
          .fields.map((f) => [f.name, String(f.type)]),
      ).toEqual([["x", "int"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the same BTF from the ELF and from the raw section", () => {
    const elf = readElf(readFileBytes(path));
    const a = Btf.fromElf(elf);
    const raw = elf.section(".BTF")!.data.slice();
    const b = Btf.fromBytes(raw);
    expect(b.count).toBe(a.count);
    expect(asBpftool(b.type("with_union"))).toEqual(
      asBpftool(a.type("with_union")),
    );
  });

  it("detects raw BTF by content in fromFile", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
    try {
      const raw = readElf(readFileBytes(path)).section(".BTF")!.data;
      writeFileSync(join(dir, "x.btf"), raw);
      expect(Btf.fromFile(join(dir, "x.btf")).type("packed_ev").size).toBe(11);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the path when the file is missing", () => {
    expect(() => Btf.fromFile("/nonexistent/x.o")).toThrow(TsbpfError);
    expect(() => Btf.fromFile("/nonexistent/x.o")).toThrow(
      /\/nonexistent\/x\.o/,
    );
  });
});

describe("big-endian BTF", () => {
  it.skipIf(
    !need(hasClang, "clang not installed: cannot build a bpfeb object"),
  )(
    "parses a clang -target bpfeb object the same as the little-endian one",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-be-"));
      try {
        const out = join(dir, "be.o");
        execFileSync("clang", [
          "-g",
          "-O2",
          "-target",
          "bpfeb",
          "-I/usr/include/x86_64-linux-gnu",
          `-I${ROOT}/build`,
          "-c",
          join(ROOT, "fixtures/btf_types.bpf.c"),
          "-o",
          out,
        ]);
        const be = Btf.fromFile(out);
        const le = Btf.fromFile(fixture("btf_types"));
        expect(be.byteOrder).toBe("be");
        expect(be.count).toBe(le.count);
        for (let id = 1; id <= le.count; id++) {
          expect(asBpftool(be.typeById(id))).toEqual(
            asBpftool(le.typeById(id)),
          );
        }
        if (hasBpftool) compareAll(be, bpftoolDump(out));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

describe("kernel BTF", () => {
  const haveVmlinux = existsSync(VMLINUX);

  it.skipIf(
    !need(
      haveVmlinux,
      `${VMLINUX} missing: kernel built without CONFIG_DEBUG_INFO_BTF`,
    ),
  )(
    "parses vmlinux: task_struct, sk_buff, count as bpftool",
    () => {
      const btf = Btf.kernel();
      expect(Btf.kernel()).toBe(btf);
      const ts = btf.type("task_struct");
      expect(ts.kind).toBe("struct");
      expect(ts.size).toBeGreaterThan(1000);
      expect(btf.type("sk_buff", "struct").kind).toBe("struct");
      if (ts.kind === "struct")
        expect(ts.fields.map((f) => f.name)).toContain("pid");
      if (hasBpftool) {
        const ref = bpftoolDump(VMLINUX);
        expect(btf.count).toBe(ref.length);
        compareAll(btf, ref);
      }
    },
    120_000,
  );

  it.skipIf(!haveVmlinux)(
    "says when a module has no BTF: not loaded, built in, or without BTF",
    () => {
      const name = "tsbpf_no_such_module";
      expect(() => Btf.kernelModule(name)).toThrow(BtfError);
      expect(() => Btf.kernelModule(name)).toThrow(
        `no BTF for kernel module '${name}' (no /sys/kernel/btf/${name})\n  hint: the module is not loaded (lsmod)`,
      );
    },
  );

  const modules = existsSync("/sys/kernel/btf")
    ? readdirSync("/sys/kernel/btf").filter((n) => n !== "vmlinux")
    : [];
  it.skipIf(
    !need(
      modules.length > 0,
      "no kernel module BTF under /sys/kernel/btf (all built in)",
    ),
  )(
    "parses a module's split BTF over vmlinux",
    () => {
      const mod = Btf.kernelModule(modules[0]);
      expect(mod.base).toBe(Btf.kernel());
      expect(mod.firstId).toBe(Btf.kernel().count + 1);
      if (hasBpftool) {
        const ref = bpftoolDump(`/sys/kernel/btf/${modules[0]}`, VMLINUX);
        expect(mod.ownCount).toBe(ref.length);
        compareAll(mod, ref);
      }
    },
    60_000,
  );

  it.skipIf(!need(haveVmlinux, `${VMLINUX} missing`))(
    "reads a synthetic split BTF over vmlinux (ids and strings continue the base's)",
    () => {
      const base = Btf.kernel();
      const taskStruct = base.findIds("task_struct", "struct")[0];
      const int = base.findIds("int", "int")[0];
      // A name that exists only in the base's string table ("comm").
      const comm = new TextEncoder().encode("\0comm\0");
      const commOff = indexOfBytes(base.strings.bytes, comm) + 1;
      const own = "\0tsbpf_split\0task\0";
      const s = (name: string) =>
        base.strings.end + own.indexOf(`\0${name}\0`) + 1;
      const first = base.count + 1;
      const words = [
        // [first] struct tsbpf_split { struct task_struct *task; int comm; }
        s("tsbpf_split"),
        (4 << 24) | 2,
        16,
        s("task"),
        first + 1,
        0,
        commOff,
        int,
        64,
        // [first+1] ptr -> task_struct
        0,
        2 << 24,
        taskStruct,
      ];
      const strBytes = new TextEncoder().encode(own);
      const bytes = new Uint8Array(24 + words.length * 4 + strBytes.length);
      const v = new DataView(bytes.buffer);
      v.setUint16(0, 0xeb9f, true);
      v.setUint8(2, 1);
      v.setUint32(4, 24, true);
      v.setUint32(8, 0, true);
      v.setUint32(12, words.length * 4, true);
      v.setUint32(16, words.length * 4, true);
      v.setUint32(20, strBytes.length, true);
      words.forEach((w, i) => v.setUint32(24 + 4 * i, w, true));
      bytes.set(strBytes, 24 + words.length * 4);

      const split = Btf.fromBytes(bytes, { base });
      expect(split.firstId).toBe(first);
      expect(split.count).toBe(first + 1);
      const t = split.type("tsbpf_split");
      expect(t.id).toBe(first);
      if (t.kind !== "struct") throw new Error("not a struct");
      expect(t.fields.map((f) => [f.name, f.offset, String(f.type)])).toEqual([
        ["task", 0, "struct task_struct *"],
        ["comm", 8, "int"],
      ]);
      expect(split.find("task_struct")?.id).toBe(taskStruct);
      expect(split.typeById(taskStruct)).toBe(base.typeById(taskStruct));

      if (hasBpftool) {
        const dir = mkdtempSync(join(tmpdir(), "tsbpf-split-"));
        try {
          writeFileSync(join(dir, "split.btf"), bytes);
          compareAll(split, bpftoolDump(join(dir, "split.btf"), VMLINUX));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    },
    60_000,
  );
});

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++)
      if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
