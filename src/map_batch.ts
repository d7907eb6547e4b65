/**
 * Raw batch operations over a map fd: chunked iteration (BPF_MAP_LOOKUP_BATCH,
 * with a get_next_key + lookup walk where the kernel has no batch op for the
 * map type), BPF_MAP_UPDATE_BATCH and BPF_MAP_DELETE_BATCH. Bytes in, bytes
 * out: `BpfMap` encodes and decodes.
 */
import { libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";

const ENOENT = 2;
const EINVAL = 22;
const ENOSPC = 28;
const EOPNOTSUPP = 95;
// The kernel's internal ENOTSUPP: BPF_DO_BATCH returns it when the map type
// has no batch op (kernel/bpf/syscall.c).
const ENOTSUPP = 524;

// sizeof(struct bpf_map_batch_opts) (libbpf ≥ 0.8): sz, elem_flags, flags.
const BATCH_OPTS_SIZE = 24;

/** What the batch functions need to know about a map. */
export interface RawMap {
  /** The map fd. */
  readonly fd: number;
  /** Map name, for errors. */
  readonly name: string;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Bytes per value as the syscalls see it (per-CPU: all CPUs). */
  readonly valueBytes: number;
}

/** One chunk of entries; valid until the iterator is resumed. */
export interface Chunk {
  /** `count` keys, back to back. */
  readonly keys: Uint8Array;
  /** A DataView over `keys`. */
  readonly keysView: DataView;
  /** `count` values, `valueBytes` apart. */
  readonly values: Uint8Array;
  /** A DataView over `values`. */
  readonly valuesView: DataView;
  /** Number of entries in this chunk. */
  readonly count: number;
}

function batchOpts(elemFlags = 0): Uint8Array {
  const o = new Uint8Array(BATCH_OPTS_SIZE);
  const v = new DataView(o.buffer);
  v.setBigUint64(0, BigInt(BATCH_OPTS_SIZE), true);
  v.setBigUint64(8, BigInt(elemFlags), true);
  return o;
}

/** True when an errno means "this map type has no such batch op". */
export function batchUnsupported(err: number): boolean {
  const e = Math.abs(err);
  return e === ENOTSUPP || e === EOPNOTSUPP || e === EINVAL;
}

/** The number of entries per chunk for a map: about 256 KiB of buffers. */
export function defaultChunk(m: RawMap): number {
  const per = Math.max(1, m.keySize + m.valueBytes);
  return Math.max(64, Math.min(8192, Math.floor((256 * 1024) / per)));
}

class Buffers {
  keys!: Uint8Array;
  keysView!: DataView;
  values!: Uint8Array;
  valuesView!: DataView;
  constructor(
    readonly m: RawMap,
    public size: number,
  ) {
    this.alloc(size);
  }
  /** New buffers for `size` entries, with the first `keep` entries copied over. */
  alloc(size: number, keep = 0): void {
    const { keySize, valueBytes } = this.m;
    const keys = new Uint8Array(Math.max(1, size * keySize));
    const values = new Uint8Array(Math.max(1, size * valueBytes));
    if (keep > 0) {
      keys.set(this.keys.subarray(0, keep * keySize));
      values.set(this.values.subarray(0, keep * valueBytes));
    }
    this.size = size;
    this.keys = keys;
    this.keysView = new DataView(keys.buffer);
    this.values = values;
    this.valuesView = new DataView(values.buffer);
  }
  /** Moves entry `i` to the front. */
  toFront(i: number): void {
    const { keySize, valueBytes } = this.m;
    this.keys.copyWithin(0, i * keySize, (i + 1) * keySize);
    this.values.copyWithin(0, i * valueBytes, (i + 1) * valueBytes);
  }
  chunk(count: number): Chunk {
    return {
      keys: this.keys,
      keysView: this.keysView,
      values: this.values,
      valuesView: this.valuesView,
      count,
    };
  }
}

/**
 * Every entry of the map, in chunks of up to `size`. Uses
 * BPF_MAP_LOOKUP_BATCH unless `batch` is false or the kernel has no batch
 * lookup for the map type (then one get_next_key + lookup per entry).
 *
 * The caller may delete the entries of a chunk before asking for the next:
 * get_next_key, and the generic batch lookup that resumes from a key
 * (`resumesByKey`: every map type but the hash family's, whose batches
 * resume from a bucket index), start over from the first key when the key
 * they resume from is gone (kernel/bpf/hashtab.c htab_map_get_next_key,
 * lpm_trie.c trie_get_next_key), which would yield entries again. So the
 * key a walk resumes from is never one the caller has been given yet.
 */
export function* lookupChunks(
  m: RawMap,
  size = defaultChunk(m),
  batch = true,
  resumesByKey = true,
  elemFlags = 0,
): Generator<Chunk, void, undefined> {
  const L = libbpf();
  const b = new Buffers(m, size);
  if (batch) {
    // in/out batch tokens: a u32 bucket index for hash maps, a key for the
    // generic (array) implementation; the kernel reads key_size bytes.
    const tokLen = Math.max(8, m.keySize);
    let inTok = new Uint8Array(tokLen);
    let outTok = new Uint8Array(tokLen);
    const count = new Uint32Array(1);
    const countBytes = new Uint8Array(count.buffer);
    const opts = batchOpts(elemFlags);
    let first = true;
    // Key-resumed: the last entry of a batch (its key is the resume token)
    // is held back at the front of the buffers, and yielded with the next.
    if (resumesByKey && b.size < 2) b.alloc(2);
    let held = 0;
    for (;;) {
      count[0] = b.size - held;
      const err = L.bpf_map_lookup_batch(
        m.fd,
        first ? null : inTok,
        outTok,
        held ? b.keys.subarray(held * m.keySize) : b.keys,
        held ? b.values.subarray(held * m.valueBytes) : b.values,
        countBytes,
        opts,
      );
      // Without a batch op the kernel fails before touching `count`.
      if (err < 0 && first && batchUnsupported(err)) break;
      const n = count[0]!;
      if (err === -ENOSPC && n === 0) {
        // A hash bucket holds more entries than fit: the kernel returns
        // ENOSPC only when it could copy nothing (hashtab.c,
        // __htab_map_lookup_and_delete_batch). Grow and retry.
        b.alloc(b.size * 2, held);
        continue;
      }
      if (err < 0 && err !== -ENOENT)
        throw bpfError(
          "bpf_map_lookup_batch",
          err,
          { kind: "other" },
          { detail: `map '${m.name}'` },
        );
      first = false;
      const total = held + n;
      if (err === -ENOENT || (resumesByKey && n === 0)) {
        if (total > 0) yield b.chunk(total);
        return;
      }
      if (!resumesByKey) {
        if (n > 0) yield b.chunk(n);
      } else {
        if (total > 1) yield b.chunk(total - 1);
        b.toFront(total - 1);
        held = 1;
      }
      const t = inTok;
      inTok = outTok;
      outTok = t;
    }
  }
  yield* walkChunks(m, b, L, elemFlags);
}

/**
 * Reads and deletes every entry with BPF_MAP_LOOKUP_AND_DELETE_BATCH,
 * handing each chunk to `take` as soon as it is out of the map (valid
 * during the call only); `take` returning false stops before the next
 * batch. Returns false when the kernel has no such batch op for the map
 * type (hash maps only have it): nothing was read or deleted then.
 * `elemFlags`: BPF_F_LOCK takes each value under its bpf_spin_lock.
 */
export function takeChunks(
  m: RawMap,
  size: number,
  take: (chunk: Chunk) => boolean,
  elemFlags = 0,
): boolean {
  const L = libbpf();
  const b = new Buffers(m, size);
  const tokLen = Math.max(8, m.keySize);
  let inTok = new Uint8Array(tokLen);
  let outTok = new Uint8Array(tokLen);
  const count = new Uint32Array(1);
  const countBytes = new Uint8Array(count.buffer);
  const opts = batchOpts(elemFlags);
  let first = true;
  for (;;) {
    count[0] = b.size;
    const err = L.bpf_map_lookup_and_delete_batch(
      m.fd,
      first ? null : inTok,
      outTok,
      b.keys,
      b.values,
      countBytes,
      opts,
    );
    if (err < 0 && first && batchUnsupported(err)) return false;
    const n = count[0]!;
    if (err === -ENOSPC && n === 0) {
      b.alloc(b.size * 2); // a bucket larger than the batch: see lookupChunks
      continue;
    }
    if (err < 0 && err !== -ENOENT)
      throw bpfError(
        "bpf_map_lookup_and_delete_batch",
        err,
        { kind: "other" },
        { detail: `map '${m.name}'` },
      );
    first = false;
    if (n > 0 && !take(b.chunk(n))) return true;
    if (err === -ENOENT) return true;
    const t = inTok;
    inTok = outTok;
    outTok = t;
  }
}

/**
 * The get_next_key + lookup walk. It fetches the key after a chunk's last
 * before yielding the chunk, and resumes from that one: deleting what a
 * chunk gave never makes the kernel start over.
 */
function* walkChunks(
  m: RawMap,
  b: Buffers,
  L: ReturnType<typeof libbpf>,
  elemFlags: number,
): Generator<Chunk, void, undefined> {
  const flags = BigInt(elemFlags);
  const cur = new Uint8Array(Math.max(1, m.keySize));
  const next = new Uint8Array(Math.max(1, m.keySize));
  const val = new Uint8Array(Math.max(1, m.valueBytes));
  const nextKey = (after: Uint8Array | null): boolean => {
    const err = L.bpf_map_get_next_key(m.fd, after, next);
    if (err === -ENOENT) return false;
    if (err < 0)
      throw bpfError(
        "bpf_map_get_next_key",
        err,
        { kind: "other" },
        { detail: `map '${m.name}'` },
      );
    return true;
  };
  let more = nextKey(null);
  while (more) {
    let n = 0;
    while (more && n < b.size) {
      cur.set(next);
      const err = elemFlags
        ? L.bpf_map_lookup_elem_flags(m.fd, cur, val, flags)
        : L.bpf_map_lookup_elem(m.fd, cur, val);
      if (err === 0) {
        b.keys.set(cur, n * m.keySize);
        b.values.set(val, n * m.valueBytes);
        n++;
      } else if (err !== -ENOENT) {
        // ENOENT: deleted meanwhile, or an empty slot of an fd array.
        throw bpfError(
          "bpf_map_lookup_elem",
          err,
          { kind: "other" },
          { detail: `map '${m.name}'` },
        );
      }
      more = nextKey(cur);
    }
    if (n > 0) yield b.chunk(n);
  }
}

/** Result of a batch write: how many entries the kernel processed. */
export interface BatchResult {
  /** Entries done. */
  readonly done: number;
  /** 0, or the negative errno that stopped it at entry `done`. */
  readonly err: number;
}

/**
 * BPF_MAP_UPDATE_BATCH of `count` encoded entries. Returns null when the
 * kernel has no batch update for this map type (nothing was written).
 */
export function updateBatch(
  m: RawMap,
  keys: Uint8Array,
  values: Uint8Array,
  count: number,
  flags: number,
): BatchResult | null {
  const c = new Uint32Array([count]);
  const err = libbpf().bpf_map_update_batch(
    m.fd,
    keys,
    values,
    new Uint8Array(c.buffer),
    batchOpts(flags),
  );
  if (err === -ENOTSUPP || err === -EOPNOTSUPP) return null;
  return { done: err < 0 ? c[0]! : count, err: err < 0 ? err : 0 };
}

/**
 * BPF_MAP_DELETE_BATCH of `count` encoded keys. Returns null when the
 * kernel has no batch delete for this map type (nothing was deleted).
 */
export function deleteBatch(
  m: RawMap,
  keys: Uint8Array,
  count: number,
): BatchResult | null {
  const c = new Uint32Array([count]);
  const err = libbpf().bpf_map_delete_batch(
    m.fd,
    keys,
    new Uint8Array(c.buffer),
    batchOpts(),
  );
  if (err === -ENOTSUPP || err === -EOPNOTSUPP) return null;
  return { done: err < 0 ? c[0]! : count, err: err < 0 ? err : 0 };
}
