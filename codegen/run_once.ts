/**
 * Code that `tsbpf-gen` runs once over a large input (vmlinux: 13k classes
 * in a ~100 ms process). Its modules register it here; the CLI, under Bun,
 * keeps it out of JSC's top tier (FTL). An FTL compile of one of these
 * functions takes 5-30 ms on JSC's single FTL thread and lands when the
 * run is mostly over, while everything else waits to be compiled behind
 * it: without FTL, generating vmlinux's types takes 67 ms instead of 80.
 * Long-running processes that call the generator (tests, builds) keep the
 * default tiers: only the CLI applies the hint.
 */

const registered: (Function | { prototype: object })[] = [];

/** Registers functions and classes (meaning their methods and accessors). */
export function runOnce(...xs: (Function | { prototype: object })[]): void {
  registered.push(...xs);
}

/** Every registered function, with each class's methods and accessors. */
export function runOnceFunctions(): Function[] {
  const out: Function[] = [];
  for (const x of registered) {
    if (typeof x === "function") out.push(x);
    // A plain function's prototype has only its constructor: nothing more.
    const proto = x.prototype as object | undefined;
    if (proto === undefined) continue;
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      for (const f of [d.value, d.get, d.set]) {
        if (typeof f === "function") out.push(f);
      }
    }
  }
  return out;
}

/**
 * Applies the hint in the running runtime where it has one (Bun:
 * `bun:jsc`'s `noFTL`); elsewhere does nothing.
 */
export async function hintRunOnce(): Promise<void> {
  if (!(globalThis as { Bun?: unknown }).Bun) return;
  // A variable specifier: Deno, Node and tsc must not resolve it.
  const spec = "bun:jsc";
  const jsc = (await import(spec)) as { noFTL?: (f: Function) => void };
  if (typeof jsc.noFTL !== "function") return;
  for (const f of runOnceFunctions()) jsc.noFTL(f);
}
