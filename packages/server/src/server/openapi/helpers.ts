import type { TensorMetadata } from "../../tensor/index.ts";

/** Small builders for OpenAPI operations, shared by the families' openapi hooks. */
export const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

export function jsonContent(schema: unknown, example?: unknown): Record<string, unknown> {
  return { "application/json": { schema, ...(example !== undefined ? { example } : {}) } };
}

export function op(options: {
  tag: string;
  summary: string;
  operationId?: string;
  description?: string;
  parameters?: unknown[];
  body?: Record<string, unknown>;
  ok?: Record<string, unknown> | string;
  error?: string;
}): Record<string, unknown> {
  const { tag, summary, operationId, description, parameters, body, ok, error } = options;
  const okResponse = typeof ok === "string" || ok === undefined ? { description: ok ?? "OK" } : { description: "OK", content: ok };
  return {
    tags: [tag],
    summary,
    ...(operationId ? { operationId } : {}),
    ...(description ? { description } : {}),
    ...(parameters ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: body } } : {}),
    responses: {
      "200": okResponse,
      ...(error ? { default: { description: "Error", content: jsonContent(ref(error)) } } : {}),
    },
  };
}

export const pathParam = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "string" } });

/** A path segment that is safe inside an OpenAPI path template. */
export const segment = (name: string) => encodeURIComponent(name);

/** One sample value for a datatype, for ready-to-run examples. */
function sample(datatype: string): unknown {
  if (datatype === "BYTES") return "text";
  if (datatype === "BOOL") return true;
  if (datatype.startsWith("FP")) return 0.5;
  return 1;
}

/** Dimensions of an example: variable ones (-1) become 1. */
export const exampleShape = (shape: readonly number[]) => shape.map((d) => (d < 0 ? 1 : d));

/** A nested array of `shape` filled with the datatype's sample value. */
export function nested(shape: readonly number[], datatype: string): unknown {
  if (shape.length === 0) return sample(datatype);
  return Array.from({ length: Math.min(shape[0], 64) }, () => nested(shape.slice(1), datatype));
}

/** Whether an example of this input stays small enough to show (at most 256 elements). */
export function exampleFits(input: TensorMetadata): boolean {
  return exampleShape(input.shape).reduce((a, b) => a * b, 1) <= 256;
}
