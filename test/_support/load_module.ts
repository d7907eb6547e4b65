/** Importing generated TypeScript source in tests. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * A loader that writes each source to a new .ts file in `dir` and imports
 * it: a module of its own each time.
 */
export function moduleLoader(
  dir: string,
): (source: string) => Promise<Record<string, any>> {
  let seq = 0;
  return async (source) => {
    const file = join(dir, `m${seq++}.ts`);
    writeFileSync(file, source);
    return await import(pathToFileURL(file).href);
  };
}
