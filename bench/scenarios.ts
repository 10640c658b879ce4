/**
 * What gets measured. Each scenario pairs a request against tserve (the subject) with the equivalent
 * request against a baseline server, so the report can show them side by side. To add a scenario
 * (another protocol, a transformer hop, an inference graph, ...), append to SCENARIOS; a new kind of
 * server becomes a new TargetId started in targets.ts.
 */
import { checkV1Predictions, checkV2Binary, checkV2Json, type ResponseCheck } from "./checks.ts";
import { IRIS_CLASSES, IRIS_INPUT, IRIS_INPUT_NAME, IRIS_INPUT_SHAPE, IRIS_OUTPUT_NAME } from "./iris.ts";

/** Servers the harness knows how to start (see targets.ts). */
export type TargetId = "tserve" | "bare-http";

export interface HttpRequestSpec {
  method: "POST" | "GET";
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** One side of a comparison: which server, what to send, how to recognise a correct answer. */
export interface ScenarioLeg {
  target: TargetId;
  request: HttpRequestSpec;
  check: ResponseCheck;
}

export interface Scenario {
  name: string;
  title: string;
  subject: ScenarioLeg;
  baseline: ScenarioLeg | null;
  /** Minimum subject/baseline req/s ratio (0..1); PASS/FAIL is reported per concurrency. */
  targetRatio?: number;
  /** Also compare subject req/s with in-process session.run() runs/s at the same concurrency. */
  compareInProcess?: boolean;
}

const ROWS = IRIS_INPUT_SHAPE[0];
const COLS = IRIS_CLASSES;
const OUTPUT = IRIS_OUTPUT_NAME;
const JSON_HEADERS = { "content-type": "application/json" };

// Written out literally (JSON.stringify would print 6.0 as 6) so the bytes match the documented examples.
export const V1_BODY = Buffer.from('{"instances":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}');

export const V2_JSON_BODY = Buffer.from(
  '{"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]}]}',
);

function v2BinaryRequest(): { headers: Record<string, string>; body: Buffer } {
  const tensor = Buffer.alloc(IRIS_INPUT.length * 4);
  for (const [i, v] of IRIS_INPUT.entries()) tensor.writeFloatLE(v, i * 4);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: IRIS_INPUT_NAME,
          shape: [...IRIS_INPUT_SHAPE],
          datatype: "FP32",
          parameters: { binary_data_size: tensor.length },
        },
      ],
      outputs: [{ name: OUTPUT, parameters: { binary_data: true } }],
    }),
  );
  return {
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.length),
    },
    body: Buffer.concat([header, tensor]),
  };
}

const V2_BINARY = v2BinaryRequest();

/** The bare baseline answers every POST with the same canned V1-style body. */
const bareCheck = checkV1Predictions(ROWS, COLS);

function pair(request: HttpRequestSpec, check: ResponseCheck): Pick<Scenario, "subject" | "baseline"> {
  return {
    subject: { target: "tserve", request, check },
    baseline: { target: "bare-http", request, check: bareCheck },
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: "v1-json",
    title: "V1 :predict JSON",
    ...pair(
      { method: "POST", path: "/v1/models/iris:predict", headers: JSON_HEADERS, body: V1_BODY },
      checkV1Predictions(ROWS, COLS),
    ),
    targetRatio: 0.7,
    compareInProcess: true,
  },
  {
    name: "v2-json",
    title: "V2 infer JSON",
    ...pair(
      { method: "POST", path: "/v2/models/iris/infer", headers: JSON_HEADERS, body: V2_JSON_BODY },
      checkV2Json(OUTPUT, ROWS, COLS),
    ),
  },
  {
    name: "v2-binary",
    title: "V2 infer binary",
    ...pair(
      { method: "POST", path: "/v2/models/iris/infer", headers: V2_BINARY.headers, body: V2_BINARY.body },
      checkV2Binary(OUTPUT, ROWS, COLS),
    ),
  },
];

export function selectScenarios(filter: string[]): Scenario[] {
  if (filter.length === 0) return SCENARIOS;
  const unknown = filter.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  return SCENARIOS.filter((s) => filter.includes(s.name));
}
