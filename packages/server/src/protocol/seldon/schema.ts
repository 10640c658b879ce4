import { Type } from "@sinclair/typebox";

/**
 * Seldon's REST messages (`prediction.proto` as JSON) as JSON Schemas (TypeBox), for the OpenAPI document.
 * codec.ts still decides every 400 by hand, with Seldon's status object.
 */
export const SeldonMessage = Type.Object(
  {
    meta: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    status: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    data: Type.Optional(
      Type.Object({
        names: Type.Optional(Type.Array(Type.String())),
        ndarray: Type.Optional(Type.Array(Type.Unknown())),
        tensor: Type.Optional(Type.Object({ shape: Type.Array(Type.Integer()), values: Type.Array(Type.Number()) })),
        tftensor: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
    ),
    binData: Type.Optional(Type.String({ contentEncoding: "base64" })),
    strData: Type.Optional(Type.String()),
    jsonData: Type.Optional(Type.Unknown()),
  },
  { $id: "SeldonMessage", description: "One of data (ndarray, tensor or tftensor), binData, strData or jsonData" },
);

export const SeldonMessageList = Type.Object({ seldonMessages: Type.Array(Type.Ref("SeldonMessage")) }, { $id: "SeldonMessageList" });

export const SeldonFeedback = Type.Object(
  {
    request: Type.Optional(Type.Ref("SeldonMessage")),
    response: Type.Optional(Type.Ref("SeldonMessage")),
    truth: Type.Optional(Type.Ref("SeldonMessage")),
    reward: Type.Optional(Type.Number()),
  },
  { $id: "SeldonFeedback" },
);

export const SeldonStatus = Type.Object(
  { status: Type.Object({ code: Type.Integer(), info: Type.String(), reason: Type.String(), status: Type.String() }) },
  { $id: "SeldonStatus", description: "Seldon's error body" },
);

/** Every Seldon schema, for the OpenAPI document's components. */
export const SELDON_SCHEMAS = [SeldonMessage, SeldonMessageList, SeldonFeedback, SeldonStatus];
