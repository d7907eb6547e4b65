/**
 * Code generation from BTF: `generateTypes` turns the structs, unions and
 * enums of a BTF into a self-contained TypeScript module (what
 * `tsbpf-gen types` prints).
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
