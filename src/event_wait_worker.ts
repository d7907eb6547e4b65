/**
 * Bun Worker body of the ring/perf buffer waiter (event_wait_bun.ts): blocks
 * in `epoll_wait` off the JS thread and posts the result. Messages in:
 * `{ epfd, timeout }`; out: the epoll_wait return value (or -errno).
 */
import { errno, libcWait } from "../ffi/mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: { data: { epfd: number; timeout: number } }) => void) | null;
  postMessage(n: number): void;
};
// Our own events buffer: the main thread re-checks with timeout 0 to learn
// which fds fired (level-triggered, so they still are).
const events = new Uint8Array(16 * 8);

scope.onmessage = (e) => {
  const { epfd, timeout } = e.data;
  const n = libcWait().epoll_wait(epfd, events, 8, timeout);
  scope.postMessage(n < 0 ? -errno() : n);
};
