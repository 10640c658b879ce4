/** MessagePack's media types: the one OpenBayes documents and the aliases clients send. */
export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack", "application/vnd.messagepack"] as const;

export const JSON_TYPE = "application/json";

/** `application/json; charset=utf-8` -> `application/json`. */
export function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

export function isMsgpackType(type: string): boolean {
  return (MSGPACK_TYPES as readonly string[]).includes(type);
}

/** `application/json` and the structured `+json` types (`application/cloudevents+json` …). */
export function isJsonType(type: string): boolean {
  return type === JSON_TYPE || (type.startsWith("application/") && type.endsWith("+json"));
}
