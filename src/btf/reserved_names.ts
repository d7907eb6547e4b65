/**
 * Instance members of a struct view (runtime views in views.ts and the
 * classes `tsbpf-gen types` emits): a C field with one of these names cannot
 * be a property of the view and is reached with `$get(name)`/`$set(name, v)`
 * instead. One list, so generated classes and runtime views agree.
 */
export const RESERVED_MEMBERS: ReadonlySet<string> = new Set([
  "$view",
  "$offset",
  "$bytes",
  "$repoint",
  "$get",
  "$set",
  "toObject",
  "constructor",
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toString",
  "toLocaleString",
  "valueOf",
]);
