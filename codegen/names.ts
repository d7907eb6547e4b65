/**
 * Turning BTF names (arbitrary bytes in hostile input) into TypeScript:
 * PascalCase binding names that can only contain `[A-Za-z0-9$_]`, property
 * keys that are either plain identifiers or JSON string literals, JSDoc text
 * that cannot close its comment, and a deterministic allocator that settles
 * clashes with suffixes.
 */
import { RESERVED_MEMBERS } from "../src/btf/reserved_names.ts";

/** Words that cannot be bindings (ES reserved words, strict mode, TS types). */
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await arguments eval as async from get of set type declare namespace module " +
    "abstract any boolean constructor never number object string symbol undefined unknown bigint " +
    "infer is keyof readonly require satisfies unique global override accessor out"
  ).split(" "),
);

/**
 * Global names a generated export must not shadow: the module's own helpers
 * use some, and a user importing `Map` from the module would be surprised.
 */
const GLOBALS = new Set(
  (
    "Array ArrayBuffer Atomics BigInt BigInt64Array BigUint64Array Boolean Bun DataView Date " +
    "Deno Error EvalError Float32Array Float64Array Function Infinity Int16Array Int32Array " +
    "Int8Array Intl Iterator JSON Map Math NaN Number Object Promise Proxy RangeError " +
    "ReferenceError Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError " +
    "TextDecoder TextEncoder TypeError URIError Uint16Array Uint32Array Uint8Array " +
    "Uint8ClampedArray WeakMap WeakRef WeakSet WebAssembly AggregateError FinalizationRegistry " +
    "Buffer Record Partial Required Readonly Pick Omit Exclude Extract NonNullable Parameters " +
    "ReturnType InstanceType ArrayLike Iterable PropertyKey Awaited Uppercase Lowercase " +
    "Capitalize Uncapitalize Event EventTarget Response Request Headers URL Blob File " +
    "Window Document Element Node Text Worker Performance Crypto Storage Location History " +
    "Navigator Screen Image Audio Option Notification Cache Lock Range Selection Animation"
  ).split(" "),
);

/**
 * Instance members of a struct view that a C field cannot take as a
 * property (shared with the runtime views): such a field is reached with
 * `$get(name)`/`$set(name, v)` and still appears under its own name in
 * `toObject()`.
 */
export { RESERVED_MEMBERS };

/**
 * The accessor key of a field: its name, or for a reserved name the name
 * behind a NUL, which no BTF name can contain (the string table is
 * NUL-terminated), so it can never collide with another field.
 */
export function memberKey(name: string): string {
  return RESERVED_MEMBERS.has(name) ? "\0" + name : name;
}

/** True when `s` is an ASCII identifier usable as a property name unquoted. */
export function isPropertyIdentifier(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const letter =
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
    if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

/** A property key for a class member or interface. */
export function propertyKey(name: string): string {
  return isPropertyIdentifier(name) ? name : JSON.stringify(name);
}

/**
 * A property key for an object literal: as {@link propertyKey}, except
 * `__proto__`, which must be computed to define a property instead of
 * setting the prototype.
 */
export function literalKey(name: string): string {
  return name === "__proto__" ? '["__proto__"]' : propertyKey(name);
}

/** `.name` or `["na me"]`: a property access suffix. */
export function propertyAccess(name: string): string {
  return isPropertyIdentifier(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/**
 * PascalCase of a C name: `exec_event` → `ExecEvent`, `exec_event__un` →
 * `ExecEventUn`. Characters other than ASCII letters and digits become
 * `$` and their hex code point, so the result is always an identifier
 * made of `[A-Za-z0-9$]`, starting with a letter (`T` is prefixed when it
 * would not), and `Anon` for an empty name.
 */
export function pascalCase(name: string): string {
  let out = "";
  let upper = true;
  // Start of the run of characters copied unchanged.
  let from = 0;
  const n = name.length;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 95) {
      out += name.slice(from, i);
      from = i + 1;
      upper = true;
      continue;
    }
    const isLower = c >= 97 && c <= 122;
    if (isLower || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) {
      if (upper && isLower) {
        out += name.slice(from, i) + UPPER[c - 97];
        from = i + 1;
      }
    } else {
      let cp = c;
      let end = i + 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const lo = name.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = (c - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
          end = i + 2;
        }
      }
      out += name.slice(from, i) + "$" + cp.toString(16);
      from = end;
      i = end - 1;
    }
    upper = false;
  }
  out += name.slice(from);
  if (out === "") return "Anon";
  const first = out.charCodeAt(0);
  return first >= 65 && first <= 90 ? out : "T" + out;
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("");

/** Anything {@link docText} must rewrite. */
const DOC_UNSAFE = /[\x00-\x1f\x7f\u2028\u2029@]|\*\//;

/**
 * Text safe inside a JSDoc block: `*​/` cannot close it, line breaks and
 * other control characters are shown escaped, so one line stays one line.
 */
export function docText(s: string): string {
  if (!DOC_UNSAFE.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 127 || c === 0x2028 || c === 0x2029) {
      out += `\\u{${c.toString(16)}}`;
    } else if (c === 42 && s.charCodeAt(i + 1) === 47) {
      out += "*\\";
    } else if (c === 64) {
      // `@` would start a JSDoc tag.
      out += "\\@";
    } else {
      out += s[i];
    }
  }
  return out;
}

/** True for names never handed out as they are (reserved words, globals). */
export function isUnavailable(name: string): boolean {
  return RESERVED.has(name) || GLOBALS.has(name);
}

/** Every name {@link isUnavailable} refuses. */
export function unavailableNames(): string[] {
  return [...RESERVED, ...GLOBALS];
}

/**
 * Hands out names in one namespace deterministically: the first claim of a
 * name wins; later ones get `_2`, `_3`... A claim covers a base name and
 * companion suffixes (a class `Foo` also takes `FooObject`), so companions
 * never collide either. Reserved words and globals are never handed out
 * (`Map` becomes `Map_`).
 */
export class NameAllocator {
  private readonly taken = new Set<string>();

  /** Reserves `name` so nothing else gets it. */
  reserve(name: string): void {
    this.taken.add(name);
  }

  /** True when `name` is already handed out or reserved. */
  has(name: string): boolean {
    return this.taken.has(name);
  }

  /** Claims `base` (+ each of `suffixes`), or the first free suffixed variant. */
  claim(base: string, suffixes: readonly string[] = [""]): string {
    let candidate = base;
    if (isUnavailable(base)) candidate = base + "_";
    for (let k = 2; !this.free(candidate, suffixes); k++) {
      candidate = `${base}_${k}`;
    }
    for (const s of suffixes) this.taken.add(candidate + s);
    return candidate;
  }

  /** Claims `base` with its suffixes only if all are free; else undefined. */
  tryClaim(
    base: string,
    suffixes: readonly string[] = [""],
  ): string | undefined {
    if (isUnavailable(base)) return undefined;
    if (!this.free(base, suffixes)) return undefined;
    for (const s of suffixes) this.taken.add(base + s);
    return base;
  }

  private free(base: string, suffixes: readonly string[]): boolean {
    for (const s of suffixes) {
      const n = base + s;
      if (this.taken.has(n) || isUnavailable(n)) return false;
    }
    return true;
  }
}
