/**
 * Random BTF with hostile names (seeded by the caller's generator): names
 * made to break out of strings, comments, templates and identifiers, for
 * the code generators' fuzz tests.
 */
import { BtfBuilder } from "../../src/btf/marshal.ts";
import type { BtfType } from "../../src/btf/types.ts";

/** Names made to break generated code: out of strings, comments, identifiers. */
export const HOSTILE = [
  "class",
  "delete",
  "function",
  "new",
  "await",
  '"); globalThis.pwned = 1; ("',
  "'); globalThis.pwned = 1; ('",
  "`); globalThis.pwned = 1; (`",
  "*/ globalThis.pwned = 1; /*",
  "\n globalThis.pwned = 1; //",
  "\r\n}; globalThis.pwned = 1; {",
  "\u2028globalThis.pwned = 1",
  "${globalThis.pwned = 1}",
  "]; globalThis.pwned = 1; [",
  "\\",
  '\\"',
  "é",
  "日本語",
  "😀",
  "",
  "1abc",
  "0",
  "__proto__",
  "constructor",
  "toObject",
  "toString",
  "hasOwnProperty",
  "$view",
  "$get",
  "prototype",
  "size",
  "typeName",
  "Map",
  "Object",
  "Array",
  "a b",
  "</script>",
  "@link x",
  "x",
];

/** The {@link HOSTILE} names of ASCII characters only. */
const ASCII_HOSTILE = HOSTILE.filter((n) => /^[\x00-\x7f]*$/.test(n));
/** The {@link HOSTILE} names that are identifiers: keywords, reserved members, globals. */
const IDENTIFIERS = HOSTILE.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));

/**
 * Builds one random BTF with hostile names; with `ascii`, only the names
 * made of ASCII (what the wasm generator takes instead of leaving to
 * TypeScript).
 */
export function randomBtf(rand: () => number, ascii = false): BtfBuilder {
  const names = ascii ? ASCII_HOSTILE : HOSTILE;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const name = (): string => {
    const r = rand();
    if (ascii && r < 0.8) return pick(IDENTIFIERS);
    if (r < 0.6) return pick(names);
    if (r < 0.8 || ascii) return pick(names) + pick(names);
    let s = "";
    for (let i = 1 + Math.floor(rand() * 6); i > 0; i--) {
      s += String.fromCodePoint(1 + (Math.floor(rand() * 0x2ffff) % 0xd7ff));
    }
    return s;
  };
  const b = new BtfBuilder();
  const scalars: [BtfType, number][] = [
    [b.int("unsigned char", 1), 1],
    [b.int("short", 2, { signed: true }), 2],
    [b.int("unsigned int", 4), 4],
    [b.int("long long", 8, { signed: true }), 8],
    [b.int("_Bool", 1, { bool: true }), 1],
    [b.float("double", 8), 8],
  ];
  const chr = b.int("char", 1, { signed: true });
  const values: [BtfType, number][] = [...scalars];
  for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) {
    const vals = [];
    for (let k = Math.floor(rand() * 5); k > 0; k--) {
      vals.push({ name: name(), value: Math.floor(rand() * 1000) - 500 });
    }
    const wide = rand() < 0.3;
    const e = b.enum(wide ? name() : pick([name(), ""]), wide ? 8 : 4, vals, {
      signed: true,
    });
    values.push([e, wide ? 8 : 4]);
  }
  for (let i = 0; i < 2 + Math.floor(rand() * 4); i++) {
    const members = [];
    let bits = 0;
    for (let k = Math.floor(rand() * 7); k > 0; k--) {
      const r = rand();
      let type: BtfType;
      let size: number;
      let bitSize = 0;
      if (r < 0.15) {
        size = 1 + Math.floor(rand() * 20);
        type = b.array(chr, size);
      } else if (r < 0.25) {
        const [el, es] = pick(scalars);
        const n = 1 + Math.floor(rand() * 4);
        type = b.array(el, n);
        size = es * n;
      } else if (r < 0.35) {
        type = b.ptr(pick(values)[0]);
        size = 8;
      } else if (r < 0.45) {
        type = b.struct("", 4, [
          { name: name(), type: scalars[2]![0], bitOffset: 0 },
        ]);
        size = 4;
      } else if (r < 0.55) {
        type = scalars[2]![0];
        size = 0;
        bitSize = 1 + Math.floor(rand() * 31);
      } else {
        [type, size] = pick(values);
      }
      const memberName = rand() < 0.1 && type.kind === "struct" ? "" : name();
      members.push({ name: memberName, type, bitOffset: bits, bitSize });
      bits += bitSize ? 32 : size * 8;
    }
    const size = Math.ceil(bits / 64) * 8;
    const kind = rand() < 0.25 ? "union" : "struct";
    const composite =
      kind === "union"
        ? b.union(
            name(),
            size,
            members.map((m) => ({ ...m, bitOffset: 0 })),
          )
        : b.struct(name(), size, members);
    values.push([composite, size]);
    if (rand() < 0.4) b.typedef(name(), composite);
  }
  return b;
}
