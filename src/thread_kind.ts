/** Which kind of JavaScript thread this module instance runs on. */

/** True on a Worker's thread (not the main thread). */
export const inWorker: boolean = (() => {
  const g = globalThis as {
    Bun?: { isMainThread?: boolean };
    WorkerGlobalScope?: abstract new () => unknown;
  };
  if (g.Bun) return g.Bun.isMainThread === false;
  return (
    typeof g.WorkerGlobalScope === "function" &&
    globalThis instanceof g.WorkerGlobalScope
  );
})();
