/**
 * Fuzz: Seldon component REST (every route; JSON, `?json=`, form and multipart bodies; ndarray, tensor, tftensor,
 * strData, binData, jsonData payloads) and the Seldon graph executor, each a real CLI in a child process serving
 * components that never throw on their own. Client mistakes never get a 5xx, errors keep Seldon's `status` body, the
 * process never dies, and known-good requests still succeed afterwards. See fuzz/runner.ts for FUZZ_SEED / FUZZ_RUNS.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { contentType, extraHeaders, headersOf, jsonBody, multipart, mutatedBytes, mutatedJson, segment, toJson, utf8 } from "./fuzz/arbitraries.ts";
import { anyRequests, good } from "./fuzz/cases.ts";
import type { HttpCase } from "./fuzz/http.ts";
import { finish } from "./fuzz/finish.ts";
import { ROOT, ServerProcess } from "./fuzz/server.ts";
import { HttpTarget } from "./fuzz/target.ts";

const MODELS = join(ROOT, "test", "integration", "fuzz", "models");

const MESSAGES: unknown[] = [
  { data: { names: ["a", "b"], ndarray: [[1, 2], [3, 4]] }, meta: { puid: "p1", tags: { t: "x" } } },
  { data: { names: ["a", "b"], tensor: { shape: [1, 2], values: [1.5, 2] } } },
  { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1" }, { size: "2" }] }, float_val: [1, 2] } } },
  { data: { tftensor: { dtype: "DT_STRING", tensorShape: { dim: [{ size: "2" }] }, stringVal: ["aGk=", "eW8="] } } },
  { data: { tftensor: { dtype: "DT_INT64", tensor_shape: { dim: [{ size: "2" }] }, int64_val: ["1", "-2"] } } },
  { data: { ndarray: ["a", 1, true, null, [1]] } },
  { strData: "hello" },
  { binData: "aGVsbG8=" },
  { jsonData: { a: [1, 2], b: { c: "d" } } },
  { meta: { routing: { r: 1 }, requestPath: { a: "img" }, metrics: [{ type: "COUNTER", key: "k", value: 1 }] }, data: { ndarray: [1] } },
];
const FEEDBACK = { request: MESSAGES[0], response: MESSAGES[0], reward: 1, truth: { data: { ndarray: [[1]] } } };
const AGGREGATE = { seldonMessages: [MESSAGES[0], MESSAGES[1]] };

const COMPONENT_ROUTES = [
  "/api/v1.0/predictions",
  "/api/v0.1/predictions",
  "/predict",
  "/transform-input",
  "/transform-output",
  "/route",
  "/api/v1.0/predictions",
];

/** Percent-encodes the UTF-8 bytes of the characters `which` matches (lone surrogates become U+FFFD). */
function percentEncodeSome(text: string, which = /[^\x21-\x7e]|[#%&+]/gu): string {
  return text.replace(which, (ch) => [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
}

/** A valid message for a route: feedback and aggregate have their own bodies. */
function validFor(route: string): fc.Arbitrary<unknown> {
  if (route.includes("feedback")) return fc.constant(FEEDBACK);
  if (route === "/aggregate") return fc.oneof(fc.constant(AGGREGATE), fc.constant([MESSAGES[6], MESSAGES[7]]));
  return fc.constantFrom(...MESSAGES);
}

/** Every way Seldon reads a message: JSON body, `?json=`, form `json=`, multipart fields and files. */
function seldonRequests(routes: string[], options: { get?: boolean } = {}): fc.Arbitrary<HttpCase> {
  return fc.constantFrom(...routes).chain((route) =>
    validFor(route).chain((valid) =>
      fc.oneof(
        // a JSON body, labelled right or wrong
        { weight: 5, arbitrary: fc.record({ body: jsonBody(valid), type: contentType(["application/json", "text/plain"]), extra: extraHeaders }).map(
          ({ body, type, extra }): HttpCase => ({ route: `${route} (json)`, method: "POST", path: route, headers: headersOf({ "content-type": type }, extra), body, shape: "seldon" }),
        ) },
        // ?json= on GET or on a POST without a body
        { weight: 2, arbitrary: fc.record({ json: mutatedJson(valid), method: options.get === false ? fc.constant("POST") : fc.constantFrom("GET", "POST"), raw: fc.boolean(), extra: fc.constantFrom("", "&json=1", "&json=", "&x=%") }).map(
          ({ json, method, raw, extra }): HttpCase => {
            const text = json === undefined ? "" : toJson(json);
            const q = raw ? percentEncodeSome(text) : percentEncodeSome(text, /[^A-Za-z0-9_.~-]/gu);
            // /api/… take POST only (as Seldon's wrapper): a GET there is the common 404
            const shape = method === "GET" && route.startsWith("/api/") ? "error-or-seldon" : "seldon";
            return { route: `${route} (?json=)`, method, path: `${route}?json=${q}${extra}`, headers: {}, shape };
          },
        ) },
        // a form json= field
        { weight: 2, arbitrary: mutatedJson(valid).map(
          (json): HttpCase => ({
            route: `${route} (form)`,
            method: "POST",
            path: route,
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: utf8(new URLSearchParams({ json: json === undefined ? "" : toJson(json) }).toString()),
            shape: "seldon",
          }),
        ) },
        // multipart: fields and files, then sometimes byte-mutated as a whole
        { weight: 3, arbitrary: fc
          .record({
            parts: fc.array(
              fc.record({
                name: fc.constantFrom("json", "data", "meta", "strData", "binData", "jsonData", "x", ""),
                file: fc.boolean(),
                value: fc.oneof(mutatedJson((valid as { data?: unknown }).data ?? valid).map((v) => utf8(v === undefined ? "" : toJson(v))), fc.uint8Array({ maxLength: 64 })),
              }),
              { minLength: 0, maxLength: 4 },
            ),
            mangle: fc.option(fc.constant(null), { freq: 3 }),
          })
          .chain(({ parts, mangle }) => {
            const form = multipart(parts.map((p) => ({ name: p.name, filename: p.file ? "f.bin" : undefined, value: p.value, type: p.file ? "application/octet-stream" : undefined })));
            const body = mangle === null ? mutatedBytes(form.body) : fc.constant(form.body);
            return fc.record({ body, type: fc.constantFrom(form.type, form.type, "multipart/form-data", "multipart/form-data; boundary=other", "multipart/mixed; boundary=fuzzBoundary7MA4YWxk") });
          })
          .map(({ body, type }): HttpCase => ({ route: `${route} (multipart)`, method: "POST", path: route, headers: { "content-type": type }, body, shape: "seldon" })) },
      ),
    ),
  );
}

const seldonPrefixes = ["/", "/api/v1.0/", "/api/v0.1/", "/health/", "/v1/models/", "/v2/models/"];

describe("fuzz: Seldon component REST", () => {
  let server: ServerProcess;
  let target: HttpTarget;
  const GOOD = () => [
    { case: good("predictions", "POST", "/api/v1.0/predictions", MESSAGES[0], {}, "seldon") },
    { case: good("aggregate", "POST", "/aggregate", AGGREGATE, {}, "seldon") },
    { case: good("feedback", "POST", "/send-feedback", FEEDBACK, {}, "seldon") },
    { case: good("ping", "GET", "/health/ping", undefined, {}, "any") },
    { case: good("metrics", "GET", "/metrics", undefined, {}, "any") },
  ];

  beforeAll(async () => {
    server = new ServerProcess({ args: ["serve", join(MODELS, "SeldonTotal.ts"), "--seldon", "--model_name", "total"], readyPath: "/health/ping" });
    await server.start();
    target = new HttpTarget(server, "seldon component REST");
  });
  afterAll(async () => {
    await finish(server, target);
  });

  it("predict, transform and route: JSON, ?json=, form and multipart bodies", async () => {
    await target.run(seldonRequests(COMPONENT_ROUTES), 800, GOOD());
  }, 240_000);

  it("aggregate and feedback", async () => {
    await target.run(seldonRequests(["/aggregate", "/send-feedback", "/api/v1.0/feedback"]), 250, GOOD());
  }, 240_000);

  it("health, metadata and hostile paths", async () => {
    const gets = fc.constantFrom("/health/ping", "/health/status", "/metadata", "/api/v1.0/metadata", "/seldon.json", "/metrics", "/v1/models/total", "/v2/models/total").map(
      (path): HttpCase => ({ route: `GET ${path}`, method: "GET", path, headers: {}, shape: "error-or-seldon" }),
    );
    await target.run(fc.oneof(gets, anyRequests(segment(["predict", "route", "aggregate", "predictions", "total", "ping"]), seldonPrefixes, "error-or-seldon")), 200, GOOD());
  }, 240_000);
});

describe("fuzz: Seldon graph executor", () => {
  let server: ServerProcess;
  let target: HttpTarget;
  const GOOD = () => [
    { case: good("graph predictions", "POST", "/api/v1.0/predictions", MESSAGES[0], {}, "seldon") },
    { case: good("graph feedback", "POST", "/api/v1.0/feedback", FEEDBACK, {}, "seldon") },
    { case: good("graph ready", "GET", "/ready", undefined, {}, "any") },
  ];

  beforeAll(async () => {
    server = new ServerProcess({ args: ["seldon-graph", join(MODELS, "seldon-graph.yaml")], readyPath: "/ready" });
    await server.start();
    target = new HttpTarget(server, "seldon graph executor");
  });
  afterAll(async () => {
    await finish(server, target);
  });

  it("predictions and feedback through a combiner, router and transformer", async () => {
    await target.run(seldonRequests(["/api/v1.0/predictions", "/api/v0.1/predictions", "/api/v1.0/feedback"], { get: false }), 400, GOOD());
  }, 240_000);

  it("metadata, health and hostile paths", async () => {
    const gets = fc
      .oneof(fc.constantFrom("/api/v1.0/metadata", "/api/v1.0/health/status", "/ready", "/live", "/metrics"), segment(["a", "b", "c", "combine", "router", "pre"]).map((m) => `/api/v1.0/metadata/${m}`))
      .map((path): HttpCase => ({ route: `GET ${path.replace(/metadata\/.*/, "metadata/{m}")}`, method: "GET", path, headers: {}, shape: "error-or-seldon" }));
    await target.run(fc.oneof(gets, anyRequests(segment(["predictions", "feedback", "metadata"]), ["/", "/api/v1.0/", "/api/v0.1/"], "error-or-seldon")), 200, GOOD());
  }, 240_000);
});
