import type { TSchema } from "@sinclair/typebox";

/** What one protocol family adds to the OpenAPI document: its tag, its paths and the TypeBox schemas they refer to. */
export interface OpenApiPart {
  tags?: { name: string; description?: string }[];
  /** OpenAPI path items by path; `#/components/schemas/<$id>` refers to one of `schemas`. */
  paths: Record<string, Record<string, unknown>>;
  /** The family's request and response schemas (each with an `$id`), the same the codecs are described by. */
  schemas?: readonly TSchema[];
}

/** Called on every GET /openapi.json, so the per-model operations follow the models loaded now. */
export type OpenApiHook = () => OpenApiPart | Promise<OpenApiPart>;
