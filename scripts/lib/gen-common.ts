// scripts/lib/gen-common.ts — what the generators of scripts/ share (gen-api-ie-mapping, gen-openapi,
// gen-openapi-bodies, gen-screening-defaults): the roaming APIs they read, their command-line paths, and the repair
// of one YAML defect in the 3GPP files.
import { join, resolve } from "node:path";

export const APIS: ReadonlyArray<{ file: string; service: string }> = [
  { file: "TS29503_Nudm_SDM.yaml", service: "Nudm_SDM" },
  { file: "TS29503_Nudm_UECM.yaml", service: "Nudm_UECM" },
  { file: "TS29503_Nudm_UEAU.yaml", service: "Nudm_UEAU" },
  { file: "TS29509_Nausf_UEAuthentication.yaml", service: "Nausf_UEAuthentication" },
  { file: "TS29518_Namf_Communication.yaml", service: "Namf_Communication" },
  { file: "TS29502_Nsmf_PDUSession.yaml", service: "Nsmf_PDUSession" },
  { file: "TS29510_Nnrf_NFDiscovery.yaml", service: "Nnrf_NFDiscovery" },
  { file: "TS29510_Nnrf_AccessToken.yaml", service: "Nnrf_AccessToken" },
];

/** A generator's command line: the repository root and the 3GPP OpenAPI directory (argv[2], default
 *  ../shared/spec/3gpp beside the repository), shared by the generators of scripts/. */
export function generatorPaths(): { repo: string; specDir: string } {
  const repo = resolve(import.meta.dir, "..", "..");
  return { repo, specDir: resolve(process.argv[2] ?? join(repo, "..", "shared", "spec", "3gpp")) };
}

/**
 * TS29502_Nsmf_PDUSession.yaml (Rel-18) holds a single-quoted `description` whose continuation lines are not
 * indented below their key, which strict YAML refuses. Indent such continuation lines (up to the closing quote)
 * one level deeper; files without the defect are unchanged.
 */
export function repairQuotedScalars(text: string): string {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)[A-Za-z0-9_-]+: '((?:[^']|'')*)$/.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    for (let j = i + 1; j < lines.length && j < i + 50; j++) {
      const l = lines[j]!;
      const lead = l.length - l.trimStart().length;
      if (lead <= indent) lines[j] = " ".repeat(indent + 2) + l.trimStart();
      if (/^(?:[^']|'')*'(?!')/.test(l.trimStart())) {
        i = j;
        break;
      }
    }
  }
  return lines.join("\n");
}
