/**
 * C spelling of a BTF type (`String(type)`), in declarator order as
 * libbpf's btf_dump writes it: `__u32[3][4]` for `__u32 m[3][4]`,
 * `const char *const`, `char **`, `int (*)[4]` (pointer to array),
 * `int (*)(void *, int)` (function pointer). codegen/member_types.ts
 * spells its doc comments the same way.
 */
import type { BtfType, FuncProto } from "./types.ts";

/**
 * Most types visited for one spelling, and deepest function-pointer
 * parameter nesting: past them the rest is "..." (hostile BTF may loop
 * through return and parameter types, which the parser does not check).
 */
export const MAX_SPELLING_STEPS = 256;
/** See {@link MAX_SPELLING_STEPS}. */
export const MAX_SPELLING_NESTING = 8;

/**
 * The C spelling of `t`, declaring `name` when given (`int (*cb)(void)`);
 * typedefs, structs, unions and enums are spelled by name.
 */
export function cSpelling(t: BtfType, name = ""): string {
  return spell(t, name, 0, { steps: MAX_SPELLING_STEPS });
}

function spell(
  t: BtfType,
  name: string,
  depth: number,
  budget: { steps: number },
): string {
  // The declarator grows outwards from the name as the chain is followed
  // from the outermost type in; qualifiers wait for the pointer they
  // follow (`*const`) or for the base type they precede (`const char`).
  let decl = name;
  let quals: string[] = [];
  let cur = t;
  while (budget.steps-- > 0) {
    switch (cur.kind) {
      case "ptr": {
        const q = quals.join(" ");
        decl = `*${q}${q && decl ? " " : ""}${decl}`;
        quals = [];
        cur = cur.target;
        continue;
      }
      case "array":
        decl = `${declParen(decl)}[${cur.length}]`;
        cur = cur.element;
        continue;
      case "func_proto": {
        // Qualifiers on a function type mean nothing (btf_dump drops them).
        quals = [];
        decl = `${declParen(decl)}(${params(cur, depth, budget)})`;
        const proto = cur;
        const ret = typeOrUndefined(() => proto.returnType);
        if (!ret) return declJoin("?", decl);
        cur = ret;
        continue;
      }
      case "const":
      case "volatile":
      case "restrict":
        if (!quals.includes(cur.kind)) quals.push(cur.kind);
        cur = cur.target;
        continue;
      case "type_tag":
        cur = cur.target;
        continue;
      default: {
        const base = baseName(cur);
        return declJoin(
          quals.length ? `${quals.join(" ")} ${base}` : base,
          decl,
        );
      }
    }
  }
  return declJoin("...", decl);
}

/** `*p` in a declarator binds looser than `[]` and `()`: `(*p)[4]`. */
export function declParen(decl: string): string {
  return decl.startsWith("*") ? `(${decl})` : decl;
}

/** A base type and its declarator: `char *`, `__u32[4]`, `int (*)(void)`. */
export function declJoin(base: string, decl: string): string {
  if (decl === "") return base;
  return decl.startsWith("[") ? `${base}${decl}` : `${base} ${decl}`;
}

function baseName(t: BtfType): string {
  switch (t.kind) {
    case "void":
      return "void";
    case "struct":
    case "union":
      return `${t.kind} ${t.name || "(anon)"}`;
    case "enum":
    case "enum64":
      return `enum ${t.name || "(anon)"}`;
    case "fwd":
      return `${t.fwdKind} ${t.name}`;
    default:
      return t.name || `(anon ${t.kind})`;
  }
}

/** Parameter list; "void" for none (clang's `f(void)` has vlen 0). */
function params(
  p: FuncProto,
  depth: number,
  budget: { steps: number },
): string {
  if (depth >= MAX_SPELLING_NESTING) return "...";
  const n = p.params.length;
  if (n === 0 || (n === 1 && p.params[0].typeId === 0)) return "void";
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { name, typeId } = p.params[i];
    if (i === n - 1 && typeId === 0) out.push("...");
    else {
      const t = typeOrUndefined(() => p.paramType(i));
      out.push(t ? spell(t, name, depth + 1, budget) : declJoin("?", name));
    }
  }
  return out.join(", ");
}

/** Parameter and return ids are not checked at parse time: a bad one is "?". */
function typeOrUndefined(type: () => BtfType): BtfType | undefined {
  try {
    return type();
  } catch {
    return undefined;
  }
}
