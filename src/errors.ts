/**
 * The error family of tsbpf. Every failure the library raises is one of
 * these: a caller can `instanceof`-check the layer that failed and read a
 * message that names the problem and, where one is known, the fix.
 *
 * This file imports nothing, so every layer (pure parsing, FFI, codegen)
 * can use it.
 */

/** Base class of every error tsbpf raises. */
export class TsbpfError extends Error {
  /** What to do about it, when there is a usual fix. Also part of `message`. */
  readonly hint?: string;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(
      options?.hint ? `${message}\n  hint: ${options.hint}` : message,
      options?.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Malformed, truncated or unsupported ELF input. */
export class ElfError extends TsbpfError {
  /** Byte offset in the file where the problem was found, when known. */
  readonly offset?: number;

  constructor(
    message: string,
    options?: { offset?: number; hint?: string; cause?: unknown },
  ) {
    super(
      options?.offset !== undefined
        ? `${message} (at byte offset ${options.offset})`
        : message,
      options,
    );
    this.offset = options?.offset;
  }
}

/** Malformed BTF, or a BTF lookup that cannot be satisfied. */
export class BtfError extends TsbpfError {
  /** Byte offset in the BTF blob where the problem was found, when known. */
  readonly offset?: number;

  constructor(
    message: string,
    options?: { offset?: number; hint?: string; cause?: unknown },
  ) {
    super(
      options?.offset !== undefined
        ? `${message} (at BTF byte offset ${options.offset})`
        : message,
      options,
    );
    this.offset = options?.offset;
  }
}

/** A named type is not in the BTF. Lists near names in its message. */
export class BtfNotFoundError extends BtfError {
  /** The name that was looked up. */
  readonly typeName: string;
  /** Names in the BTF that look like the one asked for. */
  readonly suggestions: readonly string[];

  constructor(
    typeName: string,
    message: string,
    options?: { suggestions?: readonly string[]; hint?: string },
  ) {
    super(message, { hint: options?.hint });
    this.typeName = typeName;
    this.suggestions = options?.suggestions ?? [];
  }
}

/** One difference between a hand-written layout and the BTF type. */
export interface LayoutMismatch {
  /** Dotted field path, e.g. `addr.zip_code`; empty for the struct itself. */
  readonly field: string;
  /** What differs. */
  readonly kind:
    | "missing"
    | "extra"
    | "offset"
    | "size"
    | "signedness"
    | "type"
    | "struct-size";
  /** What BTF says. */
  readonly expected?: string;
  /** What the layout says. */
  readonly actual?: string;
  /** A one-line suggested fix. */
  readonly fix: string;
}

/** A hand-written layout does not match the struct in BTF. */
export class BtfValidationError extends BtfError {
  /** The BTF struct (or union) that was validated against. */
  readonly typeName: string;
  /** Every mismatch found, in field order. */
  readonly mismatches: readonly LayoutMismatch[];

  constructor(
    typeName: string,
    mismatches: readonly LayoutMismatch[],
    kind: "struct" | "union" = "struct",
  ) {
    const lines = mismatches.map(
      (m) =>
        `  - ${m.field || `(${kind})`}: ${m.kind}` +
        (m.expected !== undefined ? `; BTF has ${m.expected}` : "") +
        (m.actual !== undefined ? `, layout has ${m.actual}` : "") +
        `. Fix: ${m.fix}`,
    );
    super(
      `layout does not match BTF ${kind} '${typeName}' (${mismatches.length} mismatch${mismatches.length === 1 ? "" : "es"}):\n${lines.join("\n")}`,
    );
    this.typeName = typeName;
    this.mismatches = mismatches;
  }
}

/** A value that cannot be encoded into, or decoded from, a BTF type. */
export class BtfTypeError extends BtfError {}

/** Failure of the native layer: the shared library or a symbol is missing. */
export class FfiError extends TsbpfError {}

/**
 * A failed libbpf call or BPF syscall. Carries errno, its symbolic name,
 * libbpf's own message and, for a failed load, the complete verifier log.
 */
export class BpfError extends TsbpfError {
  /** Positive errno (or libbpf's own 4000+ code). */
  readonly errno: number;
  /** Symbolic name, e.g. `EPERM`, `EINVAL`, `LIBBPF_ERRNO__VERIFY`. */
  readonly code: string;
  /** The operation that failed, e.g. `bpf_object__load`. */
  readonly op: string;
  /** libbpf's log lines produced during the failed call. */
  readonly libbpfLog: string;
  /** The verifier's log, complete, when a program load failed. */
  readonly verifierLog?: string;

  constructor(
    op: string,
    errno: number,
    code: string,
    message: string,
    options?: {
      hint?: string;
      libbpfLog?: string;
      verifierLog?: string;
      cause?: unknown;
    },
  ) {
    super(`${op}: ${message} (${code})`, options);
    this.op = op;
    this.errno = errno;
    this.code = code;
    this.libbpfLog = options?.libbpfLog ?? "";
    this.verifierLog = options?.verifierLog;
  }
}

/** A program was rejected by the verifier; `verifierLog` says why. */
export class BpfVerifierError extends BpfError {
  /** The rejected program's name, when libbpf's log names it. */
  readonly program?: string;

  constructor(
    op: string,
    errno: number,
    code: string,
    message: string,
    options?: ConstructorParameters<typeof BpfError>[4] & { program?: string },
  ) {
    super(op, errno, code, message, options);
    this.program = options?.program;
  }
}

/** Use of an object, map, program, link or reader after it was closed. */
export class ClosedError extends TsbpfError {}

/** A name (program, map, global, section) that the object does not have. */
export class NotFoundError extends TsbpfError {
  /** The names that do exist, to choose from. */
  readonly available: readonly string[];
  constructor(
    what: string,
    name: string,
    available: readonly string[],
    hint?: string,
  ) {
    super(
      `no ${what} named '${name}'; ${available.length ? `available: ${available.join(", ")}` : `there are none`}`,
      { hint },
    );
    this.available = available;
  }
}

/** A key or value of the wrong size or shape for a map, or a bad argument. */
export class BpfTypeError extends TsbpfError {}

/**
 * `map.drain()` failed after it had taken entries out of the map. They are
 * no longer in the map: they are here, so nothing is lost. `cause` is what
 * failed: a later batch's `BpfError`, a `ClosedError` (the map was closed
 * meanwhile), or the error decoding an entry (e.g. a struct class's
 * `from()` threw). No entry is taken out of the map after the failure.
 */
export class DrainError<K = unknown, V = unknown> extends TsbpfError {
  /** The entries taken out and decoded, in the order they were taken. */
  readonly entries: [K, V][];
  /** Entries taken out whose key or value could not be decoded, as bytes. */
  readonly undecoded: { key: Uint8Array; value: Uint8Array }[];

  constructor(
    message: string,
    entries: [K, V][],
    undecoded: { key: Uint8Array; value: Uint8Array }[],
    options: { hint?: string; cause: unknown },
  ) {
    super(message, options);
    this.entries = entries;
    this.undecoded = undecoded;
  }
}

/** The operation is not possible at this stage (e.g. set rodata after load). */
export class StateError extends TsbpfError {}

/**
 * The operation is not supported: the running libbpf is too old for the
 * call, or the object cannot do it (a USDT or netlink tc link has no fd to
 * return or pin).
 */
export class UnsupportedError extends TsbpfError {}
