/** Pre-flight: one request per scenario leg, checked for status 200 and the expected output shape. */
import { type CapturedResponse, type CheckResult, maxAbsDiff } from "./checks.ts";
import type { ScenarioLeg } from "./scenarios.ts";

/** What a pre-flight needs of a leg: the request and how to check the answer. */
export type CheckedRequest = Pick<ScenarioLeg, "request" | "check">;

export async function sendOnce(baseUrl: string, leg: CheckedRequest): Promise<CapturedResponse> {
  const { request } = leg;
  const res = await fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export async function verifyLeg(baseUrl: string, leg: CheckedRequest): Promise<CheckResult> {
  let response: CapturedResponse;
  try {
    response = await sendOnce(baseUrl, leg);
  } catch (err) {
    return { ok: false, error: `request failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    return leg.check(response);
  } catch (err) {
    return { ok: false, error: `check threw: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Warning text if a server's answer differs from in-process onnxruntime's by more than `tolerance`. */
export function compareWithReference(
  label: string,
  values: number[][],
  reference: number[][] | undefined,
  tolerance = 1e-4,
): string | null {
  if (reference === undefined) return null;
  const diff = maxAbsDiff(values, reference);
  if (diff <= tolerance) return null;
  return (
    `${label}: output differs from in-process onnxruntime by ${diff} ` +
    `(got ${JSON.stringify(values)}, expected ${JSON.stringify(reference)})`
  );
}
