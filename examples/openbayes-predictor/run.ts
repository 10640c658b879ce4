/**
 * Serves this example's OpenBayes predictor (iris-classifier/predictor.ts) and its custom start.sh server
 * (custom-server/) as real `node bin/tserve.js serve` processes on free ports, asks each a few things and prints
 * the answers:
 *
 *   GET  /                          the predictor's status message
 *   POST / (JSON)                   request.json: two flowers, threshold 0.1
 *   POST / (MessagePack both ways)  request.msgpack, Accept: application/msgpack
 *   POST /?top=1                    params: only the best class per flower
 *   POST / (threshold 2)            a ServingError: 400 {"error": …}
 *   POST /count (custom server)     proxied to start.sh's own server
 *
 *   npm run example:openbayes
 *
 * Exits 0 when every answer is the expected one, 1 otherwise, 130 on Ctrl-C.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decode } from "@msgpack/msgpack";
import { freePort, servers, startServer, stopAll, waitReady } from "../shared/processes.ts";

const DIR = "examples/openbayes-predictor";
const HERE = fileURLToPath(new URL(".", import.meta.url));
const REQUEST_JSON = readFileSync(`${HERE}request.json`, "utf8").trim();
const REQUEST_MSGPACK = readFileSync(`${HERE}request.msgpack`);
const TIMEOUT_MS = 30_000;

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

async function call(url: string, init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<Answer> {
  const r = await fetch(url, { method: init.method ?? "POST", body: init.body, headers: init.headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const contentType = r.headers.get("content-type") ?? "";
  const bytes = new Uint8Array(await r.arrayBuffer());
  const body = contentType.startsWith("application/msgpack") ? decode(bytes) : JSON.parse(new TextDecoder().decode(bytes));
  return { status: r.status, contentType, body };
}

function show(title: string, answer: Answer): void {
  console.log(`\n${title}`);
  console.log(`-> ${answer.status} ${answer.contentType.split(";")[0]}`);
  console.log(JSON.stringify(answer.body));
}

const json = { "content-type": "application/json" };

async function main(): Promise<number> {
  const [predictorPort, customPort] = [await freePort(), await freePort()];
  const predictor = startServer("predictor", ["serve", `${DIR}/iris-classifier`, "--enable_grpc", "false"], predictorPort);
  const custom = startServer("custom", ["serve", `${DIR}/custom-server`, "--enable_grpc", "false"], customPort);
  await Promise.all([waitReady(predictor), waitReady(custom)]);
  const url = predictor.url;

  const status = await call(`${url}/`, { method: "GET" });
  show(`GET ${url}/`, status);
  const fromJson = await call(`${url}/`, { body: REQUEST_JSON, headers: json });
  show(`POST ${url}/ with request.json ${REQUEST_JSON}`, fromJson);
  const fromMsgpack = await call(`${url}/`, { body: REQUEST_MSGPACK, headers: { "content-type": "application/msgpack", accept: "application/msgpack" } });
  show(`POST ${url}/ with request.msgpack (${REQUEST_MSGPACK.byteLength} bytes), Accept: application/msgpack (decoded)`, fromMsgpack);
  const top = await call(`${url}/?top=1`, { body: REQUEST_JSON, headers: json });
  show(`POST ${url}/?top=1 with request.json`, top);
  const refused = await call(`${url}/`, { body: JSON.stringify({ threshold: 2, features: [6.8, 2.8, 4.8, 1.4] }), headers: json });
  show(`POST ${url}/ with {"threshold": 2, …}`, refused);
  const proxied = await call(`${custom.url}/count`, { body: "tserve runs start.sh and proxies every request" });
  show(`POST ${custom.url}/count (custom-server/start.sh behind tserve)`, proxied);

  const failures: string[] = [];
  const expect = (what: string, ok: boolean) => {
    if (!ok) failures.push(what);
  };
  expect("GET / is the status message", status.status === 200 && (status.body as { status?: string }).status === "ok");
  const predictions = (a: Answer) => (a.body as { predictions: { classes: string[] }[] }).predictions;
  expect("JSON: versicolor (and virginica) for the first flower, setosa for the second", fromJson.status === 200 && predictions(fromJson)[0].classes.join() === "versicolor,virginica" && predictions(fromJson)[1].classes.join() === "setosa");
  expect("MessagePack answers the same as JSON", fromMsgpack.contentType === "application/msgpack" && JSON.stringify(fromMsgpack.body) === JSON.stringify(fromJson.body));
  expect("?top=1 keeps the best class only", predictions(top).every((p) => p.classes.length === 1));
  expect("threshold 2 is a 400 ServingError", refused.status === 400 && typeof (refused.body as { error?: string }).error === "string");
  expect("the custom server answers through tserve", proxied.status === 200 && (proxied.body as { words?: number }).words === 7);
  console.log();
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED: ${f}`);
    return 1;
  }
  console.log("OK: the predictor answered JSON and MessagePack alike, ?top=1 and the ServingError as expected, and the start.sh server answered through tserve.");
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}`);
  for (const s of servers) {
    const log = s.log().trim();
    if (log) console.error(`\n--- ${s.label} output ---\n${log}`);
  }
  process.exitCode = 1;
} finally {
  await stopAll();
}
