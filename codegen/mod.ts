/**
 * Code generation from BTF: `generateTypes` turns the structs, unions and
 * enums of a BTF into a TypeScript module (what `tsbpf-gen types` prints),
 * self-contained or importing its helpers from the runtime.
 *
 * @module
 */
export { generateTypes, type GenerateOptions } from "./types.ts";
export {
  pascalCase,
  propertyKey,
  literalKey,
  docText,
  NameAllocator,
} from "./names.ts";
export { deriveNames } from "./naming.ts";
