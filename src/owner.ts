/**
 * What programs, maps, links and globals need from the `BpfObject` that
 * handed them out. An interface, so those files never import object.ts.
 */
import type { Ptr } from "../ffi/mod.ts";
import type { LibbpfLogHandler } from "./libbpf_log.ts";

/** A live link the object destroys when it closes. */
export interface OwnedLink {
  /** Detaches (unless pinned) and releases the link; idempotent. */
  close(): void;
}

/** Why a child of `owner` cannot be used yet, and what to do. */
export function notLoadedReason(owner: ObjectOwner): string {
  return owner.loadFailed
    ? "the object's load() failed, and libbpf allows one attempt: open the object again"
    : "object not loaded: call obj.load() first";
}

/** The owning object, as its children see it. */
export interface ObjectOwner {
  /** True once `load()` succeeded. */
  readonly loaded: boolean;
  /** True when `load()` was attempted and failed (libbpf allows one attempt). */
  readonly loadFailed: boolean;
  /** True once `close()` ran. */
  readonly closed: boolean;
  /** The object's own libbpf log handler, if any. */
  readonly logHandler: LibbpfLogHandler | undefined;
  /** The `struct bpf_object *`; throws ClosedError after close. */
  handle(what: string): Ptr;
  /** Keeps `link` alive (strongly) until it or the object closes. */
  adoptLink(link: OwnedLink): void;
  /** Forgets a link that closed itself. */
  releaseLink(link: OwnedLink): void;
  /**
   * Unmaps the globals' writable mapping of map `name`, if any, so the
   * kernel lets it be frozen (StateError during a write to a global).
   */
  releaseGlobalsMapping(name: string): void;
}
