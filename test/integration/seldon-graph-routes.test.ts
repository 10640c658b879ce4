/**
 * The Seldon graph executor's routes against requests in every data form: a router's choice is read from its answer
 * whatever form that answer takes (ndarray, tensor, tftensor with any value field), whether the router runs in this
 * process (answering in the request's form) or behind a REST endpoint; a route that cannot be read is the router's
 * 500; and errors Fastify raises before a graph route runs (a bad content type) keep Seldon's status body.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSeldonGraphFile } from "../../packages/server/src/cli/serve.ts";
import { ModelServer } from "../../packages/server/src/index.ts";
import { rawRequest } from "./util.ts";

const quiet = { log() {} };

/** Components written for these graphs: a router with a fixed route, and a model that answers its input, tagged. */
const ROUTER = `export default class FixedRoute {
  constructor({ route = 0 } = {}) { this.route_ = route; }
  route() { return this.route_; }
}
`;
const ECHO = `export default class Echo {
  constructor({ tag = "echo" } = {}) { this.tag = tag; }
  predict(X) { return X; }
  tags() { return { [this.tag]: true }; }
}
`;

/** A router over two Echo models a and b; `router` is the router node's own lines (its modelUri or endpoint). */
function graphYaml(router: string): string {
  return `apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: { name: routes }
spec:
  predictors:
    - name: main
      graph:
        name: router
        type: ROUTER
${router}
        children:
          - { name: a, type: MODEL, modelUri: ./Echo.js, parameters: [{ name: tag, value: ran-a, type: STRING }] }
          - { name: b, type: MODEL, modelUri: ./Echo.js, parameters: [{ name: tag, value: ran-b, type: STRING }] }
`;
}

/** The FixedRoute router, always choosing `route`. */
const fixedRouter = (route: number) => `        modelUri: ./FixedRoute.js\n        parameters: [{ name: route, value: "${route}", type: INT }]`;

interface Running {
  server: ModelServer;
  url: string;
}

async function startGraphText(dir: string, yaml: string): Promise<Running> {
  const file = join(dir, `graph-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  const { spec, sources } = await loadSeldonGraphFile(file);
  const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldonGraph: spec, logger: quiet });
  await server.start([], sources);
  return { server, url: `http://127.0.0.1:${server.port}` };
}

const INT64 = { data: { tftensor: { dtype: "DT_INT64", tensor_shape: { dim: [{ size: "2" }] }, int64_val: ["1", "-2"] } } };
const STRING = { data: { tftensor: { dtype: "DT_STRING", tensorShape: { dim: [{ size: "2" }] }, stringVal: ["aGk=", "eW8="] } } };
const FLOAT = { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1" }, { size: "2" }] }, float_val: [1.5, 2] } } };

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) };
}

function expectSeldonStatus(reply: { status: number; text: string }, status: number, info: RegExp): void {
  expect(reply.status, reply.text).toBe(status);
  const body = JSON.parse(reply.text);
  expect(Object.keys(body)).toEqual(["status"]);
  expect(body.status).toMatchObject({ status: 1, code: -1 });
  expect(body.status.reason).toBeTypeOf("string");
  expect(body.status.info).toMatch(info);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tserve-seldon-routes-"));
  await writeFile(join(dir, "FixedRoute.js"), ROUTER);
  await writeFile(join(dir, "Echo.js"), ECHO);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a local router answering in the request's tftensor form", () => {
  let g: Running;
  beforeAll(async () => {
    g = await startGraphText(dir, graphYaml(fixedRouter(1)));
  });
  afterAll(async () => {
    await g?.server.stop();
  });

  it("DT_INT64, DT_STRING and DT_FLOAT requests are routed to the child the router names, on v1.0 and v0.1", async () => {
    for (const version of ["v1.0", "v0.1"]) {
      const answers = [];
      for (const body of [INT64, STRING, FLOAT]) {
        const r = await postJson(`${g.url}/api/${version}/predictions`, body);
        expect(r.status, r.text).toBe(200);
        expect(r.json.meta.routing).toEqual({ router: 1 });
        expect(r.json.meta.tags).toEqual({ "ran-b": true });
        answers.push(r.json.data);
      }
      // child b echoed each request: numbers stay a tftensor, strings come back as an ndarray (Seldon's rule)
      expect(answers[0]).toEqual({ names: [], tftensor: { dtype: "DT_INT64", tensorShape: { dim: [{ size: "2" }] }, int64Val: ["1", "-2"] } });
      expect(answers[1]).toEqual({ names: [], ndarray: ["hi", "yo"] });
      expect(answers[2].tftensor).toEqual({ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }, { size: "2" }] }, floatVal: [1.5, 2] });
    }
  });

  it("the same request as a form field or ?json= is routed the same way", async () => {
    const form = await rawRequest(`${g.url}/api/v1.0/predictions`, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `json=${encodeURIComponent(JSON.stringify(INT64))}`,
    });
    expect(form.status, form.text).toBe(200);
    expect(JSON.parse(form.text).meta.routing).toEqual({ router: 1 });
    const query = await rawRequest(`${g.url}/api/v1.0/predictions?json=${encodeURIComponent(JSON.stringify(STRING))}`, {});
    expect(query.status, query.text).toBe(200);
    expect(JSON.parse(query.text).meta.routing).toEqual({ router: 1 });
  });
});

describe("a remote router (REST endpoint) answering in tftensor form", () => {
  let g: Running;
  let remote: Server;
  /** What the remote router's /route answers next. */
  let answer: unknown;
  let routeCalls = 0;

  beforeAll(async () => {
    remote = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url?.startsWith("/route")) routeCalls++;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    const port = (remote.address() as { port: number }).port;
    g = await startGraphText(dir, graphYaml(`        endpoint: { service_host: 127.0.0.1, service_port: ${port}, type: REST }`));
  });
  afterAll(async () => {
    await g?.server.stop();
    await new Promise((resolve) => remote?.close(resolve));
  });

  const tf = (dtype: string, field: string, values: unknown[]) => ({
    data: { tftensor: { dtype, tensor_shape: { dim: [{ size: "1" }, { size: "1" }] }, [field]: values } },
  });

  it("reads the route from int_val (Seldon's Go executor form), int64_val strings, double_val and camelCase fields", async () => {
    const forms = [
      tf("DT_INT32", "int_val", [1]),
      tf("DT_INT64", "int64_val", ["1"]),
      tf("DT_DOUBLE", "double_val", [1]),
      { data: { tftensor: { dtype: "DT_INT64", tensorShape: { dim: [{ size: "1" }] }, int64Val: ["1"] } } },
    ];
    for (const form of forms) {
      answer = form;
      const r = await postJson(`${g.url}/api/v1.0/predictions`, INT64);
      expect(r.status, `${JSON.stringify(form)}: ${r.text}`).toBe(200);
      expect(r.json.meta.routing).toEqual({ router: 1 });
      expect(r.json.meta.tags).toEqual({ "ran-b": true });
    }
    answer = tf("DT_INT64", "int64_val", ["-1"]);
    const all = await postJson(`${g.url}/api/v1.0/predictions`, INT64);
    expect(all.status, all.text).toBe(200);
    expect(all.json.meta.routing).toEqual({ router: -1 });
    expect(all.json.meta.tags).toEqual({ "ran-a": true, "ran-b": true });
  });

  it("a route that is missing, out of range or not a number is a 500 naming the router, in Seldon's body", async () => {
    const calls = routeCalls;
    for (const bad of [tf("DT_INT64", "int64_val", ["7"]), tf("DT_STRING", "string_val", ["MQ=="]), tf("DT_INT64", "int64_val", []), { jsonData: { route: 1 } }]) {
      answer = bad;
      expectSeldonStatus(await postJson(`${g.url}/api/v1.0/predictions`, INT64), 500, /^Router 'router' returned route .*expected an integer from -2 to 1/);
    }
    expect(routeCalls - calls).toBe(4);
  });
});

describe("graph routes and content types Fastify refuses", () => {
  let g: Running;
  beforeAll(async () => {
    g = await startGraphText(dir, graphYaml(fixedRouter(0)));
  });
  afterAll(async () => {
    await g?.server.stop();
  });

  it("an empty or malformed content-type on predictions and feedback is a 400 in Seldon's status body", async () => {
    for (const path of ["/api/v1.0/predictions", "/api/v0.1/predictions", "/api/v1.0/feedback", "/api/v0.1/feedback"]) {
      for (const contentType of ["", "a/b/c;;;="]) {
        const r = await rawRequest(`${g.url}${path}`, { headers: { "content-type": contentType }, body: JSON.stringify(INT64) });
        expect(r.headers["content-type"]).toMatch(/^application\/json/);
        expectSeldonStatus(r, 400, /\S/);
      }
    }
    // and the graph still answers
    const ok = await postJson(`${g.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.meta.routing).toEqual({ router: 0 });
  });
});
