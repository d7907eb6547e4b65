/**
 * What a load the verifier refuses gives on the calling thread, for the
 * thread tests' children: whether libbpf (and its log callback) works there.
 */
import { BpfObject } from "../../mod.ts";
import { fixture } from "./fixtures.ts";

/** Loads fixtures/bad_verifier.bpf.c: "<error name> <verifier log length>", or "loaded". */
export function badLoadOutcome(): string {
  const bad = BpfObject.open(fixture("bad_verifier"));
  try {
    bad.load();
    return "loaded";
  } catch (e) {
    const log = (e as { verifierLog?: string }).verifierLog ?? "";
    return `${(e as Error).name} ${log.length}`;
  } finally {
    bad.close();
  }
}
