import type { ModelIndexEntry, ModelState } from "../types.ts";

/** One entry of TF Serving's GetModelStatusResponse (`apis/get_model_status.proto`), as its REST API prints it. */
export interface ModelVersionStatus {
  version: string;
  state: "UNKNOWN" | "START" | "LOADING" | "AVAILABLE" | "UNLOADING" | "END";
  status: { error_code: string; error_message: string };
}

const STATES: Record<ModelState, ModelVersionStatus["state"]> = {
  UNKNOWN: "UNKNOWN",
  LOADING: "LOADING",
  READY: "AVAILABLE",
  UNLOADING: "UNLOADING",
  UNAVAILABLE: "END",
};

/** Reasons the repository gives a version it unloaded on purpose: END with OK, as TF Serving reports an unload. */
const DELIBERATE_UNLOADS = new Set(["unloaded", "server stopped", "version no longer selected by the version policy"]);

/**
 * Repository rows -> `model_version_status`. States map READY→AVAILABLE, LOADING→LOADING, UNLOADING→UNLOADING,
 * UNAVAILABLE→END and UNKNOWN→UNKNOWN; a version that ended because it failed to load carries error_code UNKNOWN and
 * the failure as error_message. Unversioned rows have no TF Serving version and are left out.
 */
export function modelVersionStatus(rows: readonly ModelIndexEntry[]): ModelVersionStatus[] {
  const out: ModelVersionStatus[] = [];
  for (const row of rows) {
    if (row.version === undefined) continue;
    const state = STATES[row.state] ?? "UNKNOWN";
    const failed = row.state === "UNAVAILABLE" && row.reason !== "" && !DELIBERATE_UNLOADS.has(row.reason);
    out.push({
      version: row.version,
      state,
      status: failed ? { error_code: "UNKNOWN", error_message: row.reason } : { error_code: "OK", error_message: "" },
    });
  }
  return out;
}
