/**
 * The slice of vitest's API our tests use, for `deno test`: `describe`/`it`
 * come from Deno's `node:test`, `expect` from the npm `expect` package (the
 * same matcher library vitest and bun:test mirror). Bun maps "vitest" to
 * bun:test itself; Node runs real vitest.
 */
import * as nodeTest from "node:test";
import { expect as jestExpect } from "expect";

type Fn = () => unknown | Promise<unknown>;
type It = ((name: string, fn: Fn, timeout?: number) => void) & {
  skip: (name: string, fn?: Fn) => void;
  skipIf: (cond: unknown) => (name: string, fn: Fn, timeout?: number) => void;
  runIf: (cond: unknown) => (name: string, fn: Fn, timeout?: number) => void;
  only: (name: string, fn: Fn) => void;
};

function makeIt(): It {
  const base = ((name: string, fn: Fn, timeout?: number) => {
    nodeTest.it(name, { timeout }, fn as () => Promise<void>);
  }) as It;
  base.skip = (name: string) => nodeTest.it.skip(name, () => {});
  base.only = (name: string, fn: Fn) =>
    nodeTest.it.only(name, fn as () => Promise<void>);
  base.skipIf = (cond) => (cond ? (n) => base.skip(n) : base);
  base.runIf = (cond) => (cond ? base : (n) => base.skip(n));
  return base;
}

/** `it`/`test` with vitest's skip/skipIf/runIf helpers. */
export const it: It = makeIt();
/** Alias of {@link it}. */
export const test: It = it;

type Describe = ((name: string, fn: () => void) => void) & {
  skip: (name: string, fn: () => void) => void;
  skipIf: (cond: unknown) => (name: string, fn: () => void) => void;
};
const describeBase = ((name: string, fn: () => void) => {
  nodeTest.describe(name, fn);
}) as Describe;
describeBase.skip = (name, fn) => nodeTest.describe.skip(name, fn);
describeBase.skipIf = (cond) => (cond ? describeBase.skip : describeBase);
/** Groups tests, as vitest's `describe`. */
export const describe: Describe = describeBase;

/** Runs before each test in the enclosing describe. */
export const beforeEach = (fn: Fn) => nodeTest.beforeEach(fn as () => void);
/** Runs after each test in the enclosing describe. */
export const afterEach = (fn: Fn) => nodeTest.afterEach(fn as () => void);
/** Runs once before the tests of the enclosing describe. */
export const beforeAll = (fn: Fn) => nodeTest.before(fn as () => void);
/** Runs once after the tests of the enclosing describe. */
export const afterAll = (fn: Fn) => nodeTest.after(fn as () => void);

/** Jest-compatible `expect`. */
export const expect = jestExpect;
