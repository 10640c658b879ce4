/**
 * TF Serving's REST API on the V1 routes, against a real server: model status and metadata, /versions/{n} and
 * /labels/{l}, row and columnar :predict with several inputs and outputs, b64 and NaN tokens, :classify and
 * :regress, and case-insensitive paths (reference: protocols.md §3).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Model } from "../../packages/server/src/index.ts";
import { v1 } from "../../packages/server/src/protocol/index.ts";
import {
  expectClose,
  expectError,
  FIXTURES,
  get,
  IRIS_DIR,
  post,
  type Running,
  readJson,
  SCALE_ALL_DIR,
  startWith,
  tempRepo,
} from "./util.ts";

const TFS = join(FIXTURES, "tfserving");
const LINEAR_DIR = join(TFS, "linear");
const MIXED_DIR = join(TFS, "mixed");
const OK = { error_code: "OK", error_message: "" };
const IRIS_LABELS = ["setosa", "versicolor", "virginica"];
const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/** y = x . w + b per version of the linear fixture (scripts/gen_tfserving_fixtures.py). */
function linear(version: 1 | 2, x: number[]): number {
  const [w, b] = version === 1 ? [[1, 2, 3], 0.5] : [[-1, 0.5, 2], -1];
  return Math.fround((w as number[]).reduce((s, wi, i) => s + wi * x[i], b as number));
}

interface IrisExpected {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
}

class Plain extends Model {
  override predict(body: { instances: number[] }) {
    return { predictions: body.instances };
  }
}

describe("TF Serving REST API", () => {
  let running: Running;
  let url: string;
  let repo: string;
  let iris: IrisExpected;

  beforeAll(async () => {
    repo = await tempRepo({ iris_labelled: IRIS_DIR, broken: LINEAR_DIR });
    await writeFile(
      join(repo, "iris_labelled", "model-settings.json"),
      JSON.stringify({
        name: "iris_labelled",
        features: IRIS_FEATURES,
        classLabels: IRIS_LABELS,
        versionLabels: { stable: 1 },
      }),
    );
    // Versions 1 and 2 load; version 3 is not an ONNX file and fails.
    await writeFile(
      join(repo, "broken", "model-settings.json"),
      JSON.stringify({ name: "broken", versionPolicy: { all: {} }, versionLabels: { bad: 3 } }),
    );
    await mkdir(join(repo, "broken", "3"));
    await writeFile(join(repo, "broken", "3", "model.onnx"), "not an onnx model");
    running = await startWith({
      dirs: [IRIS_DIR, join(repo, "iris_labelled"), join(repo, "broken"), LINEAR_DIR, MIXED_DIR, SCALE_ALL_DIR],
      models: [new Plain("plain")],
    });
    url = running.url;
    iris = await readJson<IrisExpected>(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => {
    await running?.server.stop();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  describe("model status: GET /v1/models/{m}[/versions/{n}|/labels/{l}]", () => {
    it("lists every version with KServe's name and ready", async () => {
      const r = await get(`${url}/v1/models/linear`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        name: "linear",
        ready: true,
        model_version_status: [
          { version: "1", state: "AVAILABLE", status: OK },
          { version: "2", state: "AVAILABLE", status: OK },
        ],
      });
    });

    it("one version by number or by label", async () => {
      const byVersion = await get(`${url}/v1/models/linear/versions/1`);
      expect(byVersion.json).toEqual({
        name: "linear",
        ready: true,
        model_version_status: [{ version: "1", state: "AVAILABLE", status: OK }],
      });
      const byLabel = await get(`${url}/v1/models/linear/labels/canary`);
      expect(byLabel.json.model_version_status).toEqual([{ version: "2", state: "AVAILABLE", status: OK }]);
    });

    it("a version that failed to load is END with its error; the model stays ready on the others", async () => {
      const r = await get(`${url}/v1/models/broken`);
      expect(r.status).toBe(200);
      expect(r.json.ready).toBe(true);
      const statuses = r.json.model_version_status;
      expect(statuses.slice(0, 2)).toEqual([
        { version: "1", state: "AVAILABLE", status: OK },
        { version: "2", state: "AVAILABLE", status: OK },
      ]);
      expect(statuses[2]).toMatchObject({ version: "3", state: "END", status: { error_code: "UNKNOWN" } });
      expect(statuses[2].status.error_message.length).toBeGreaterThan(0);
    });

    it("a version that is not ready answers 503 (as KServe does) with the status body and an error", async () => {
      for (const path of ["versions/3", "labels/bad"]) {
        const r = await get(`${url}/v1/models/broken/${path}`);
        expect(r.status).toBe(503);
        expect(r.json).toMatchObject({
          name: "broken",
          ready: false,
          model_version_status: [{ version: "3", state: "END", status: { error_code: "UNKNOWN" } }],
        });
        expect(r.json.error).toContain("broken");
      }
      expectError(await post(`${url}/v1/models/broken/versions/3:predict`, { instances: [[1, 2, 3]] }), 503, "broken");
    });

    it("an unversioned model keeps KServe's answer alone", async () => {
      const r = await get(`${url}/v1/models/plain`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ name: "plain", ready: true });
    });

    it("unknown model or version: 404; unknown label: TF Serving's 400", async () => {
      expectError(await get(`${url}/v1/models/nosuch`), 404, "nosuch");
      expectError(await get(`${url}/v1/models/linear/versions/9`), 404, "linear", "9");
      const msg = expectError(await get(`${url}/v1/models/linear/labels/nope`), 400);
      expect(msg).toBe("Unrecognized servable version label: nope");
      expectError(await get(`${url}/v1/models/nosuch/labels/stable`), 404, "nosuch");
    });
  });

  describe("model metadata: GET …/metadata", () => {
    it("iris: serving_default with DT_FLOAT and -1 for the batch dimension", async () => {
      const r = await get(`${url}/v1/models/iris/metadata`);
      expect(r.status).toBe(200);
      const dims = (...sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s), name: "" })), unknown_rank: false });
      expect(r.json).toEqual({
        model_spec: { name: "iris", signature_name: "", version: "1" },
        metadata: {
          signature_def: {
            signature_def: {
              serving_default: {
                inputs: { input: { dtype: "DT_FLOAT", tensor_shape: dims(-1, 4), name: "input" } },
                outputs: { probabilities: { dtype: "DT_FLOAT", tensor_shape: dims(-1, 3), name: "probabilities" } },
                method_name: "tensorflow/serving/predict",
                defaults: {},
              },
            },
          },
        },
      });
    });

    it("several inputs and outputs, strings as DT_STRING", async () => {
      const r = await get(`${url}/v1/models/mixed/metadata`);
      const sig = r.json.metadata.signature_def.signature_def.serving_default;
      expect(Object.keys(sig.inputs)).toEqual(["x", "text"]);
      expect(Object.keys(sig.outputs)).toEqual(["doubled", "total", "text_bytes", "text_out"]);
      expect(sig.inputs.text.dtype).toBe("DT_STRING");
      expect(sig.outputs.total.tensor_shape.dim).toEqual([{ size: "-1", name: "" }]);
    });

    it("the latest version by default; a version or label picks another", async () => {
      expect((await get(`${url}/v1/models/linear/metadata`)).json.model_spec.version).toBe("2");
      expect((await get(`${url}/v1/models/linear/versions/1/metadata`)).json.model_spec.version).toBe("1");
      expect((await get(`${url}/v1/models/linear/labels/stable/metadata`)).json.model_spec.version).toBe("1");
    });

    it("errors: unknown model 404, not-ready version 503, POST: TF Serving's 400 Malformed request", async () => {
      expectError(await get(`${url}/v1/models/nosuch/metadata`), 404, "nosuch");
      expectError(await get(`${url}/v1/models/broken/versions/3/metadata`), 503, "broken");
      expectError(await post(`${url}/v1/models/iris/metadata`, {}), 400, "Malformed request: POST /v1/models/iris/metadata");
    });
  });

  describe(":predict", () => {
    it("/versions/{n} and /labels/{l} pick the version; none means the latest", async () => {
      const x = [1, 2, 3];
      const at = async (path: string) => (await post(`${url}/v1/models/linear${path}:predict`, { instances: [x] })).json;
      expect(await at("/versions/1")).toEqual({ predictions: [[linear(1, x)]] });
      expect(await at("/labels/stable")).toEqual({ predictions: [[linear(1, x)]] });
      expect(await at("/labels/canary")).toEqual({ predictions: [[linear(2, x)]] });
      expect(await at("")).toEqual({ predictions: [[linear(2, x)]] });
      expectError(await post(`${url}/v1/models/linear/labels/nope:predict`, { instances: [x] }), 400, "nope");
    });

    it("signature_name: serving_default is the one signature; others are a 400 naming it", async () => {
      const ok = await post(`${url}/v1/models/iris:predict`, { signature_name: "serving_default", instances: [iris.inputs[0]] });
      expect(ok.status).toBe(200);
      const msg = expectError(
        await post(`${url}/v1/models/iris:predict`, { signature_name: "predict_images", instances: [iris.inputs[0]] }),
        400,
      );
      expect(msg).toBe('Serving signature name: "predict_images" not found in signature def; the only signature is "serving_default"');
    });

    it("both or neither of instances / inputs: 400 with TF Serving's messages", async () => {
      const both = await post(`${url}/v1/models/iris:predict`, { instances: [iris.inputs[0]], inputs: [iris.inputs[0]] });
      expect(expectError(both, 400)).toMatch(/expecting only one of 'inputs' or 'instances'/);
      expect(expectError(await post(`${url}/v1/models/iris:predict`, { signature_name: "" }), 400)).toBe(
        "Missing 'inputs' or 'instances' key",
      );
    });

    it("row format, several inputs and outputs: b64 in, b64 out for *_bytes, NaN and Infinity tokens both ways", async () => {
      const r = await post(
        `${url}/v1/models/mixed:predict`,
        '{"instances": [{"x": [1, NaN], "text": {"b64": "aMOpbGxv"}}, {"text": "yo", "x": [Infinity, -2]}]}',
      );
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.text).toBe(
        '{"predictions":[' +
          '{"doubled":[2,NaN],"total":NaN,"text_bytes":{"b64":"aMOpbGxv"},"text_out":"héllo"},' +
          '{"doubled":[Infinity,-4],"total":Infinity,"text_bytes":{"b64":"eW8="},"text_out":"yo"}]}',
      );
      expect(v1.parseV1Json(r.text)).toEqual({
        predictions: [
          { doubled: [2, Number.NaN], total: Number.NaN, text_bytes: { b64: "aMOpbGxv" }, text_out: "héllo" },
          { doubled: [Number.POSITIVE_INFINITY, -4], total: Number.POSITIVE_INFINITY, text_bytes: { b64: "eW8=" }, text_out: "yo" },
        ],
      });
    });

    it("columnar format: inputs with different 0th dimensions, outputs keyed by name", async () => {
      const r = await post(`${url}/v1/models/mixed:predict`, {
        inputs: { x: [[1, 2]], text: ["a", { b64: "Yg==" }, "c"] },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({
        outputs: {
          doubled: [[2, 4]],
          total: [3],
          text_bytes: [{ b64: "YQ==" }, { b64: "Yg==" }, { b64: "Yw==" }],
          text_out: ["a", "b", "c"],
        },
      });
    });

    it("row format: an input whose rows differ in size is a 400 with TF Serving's message", async () => {
      const r = await post(`${url}/v1/models/mixed:predict`, { instances: [{ x: [1, 2], text: "a" }, { x: [1], text: "b" }] });
      expect(expectError(r, 400)).toBe(
        "Failed to process element: 1 key: x of 'instances' list. Error: Expecting tensor size: 2 but got: 1",
      );
    });

    it("row format, several inputs: plain rows and missing inputs are 400s", async () => {
      expect(expectError(await post(`${url}/v1/models/mixed:predict`, { instances: [[1, 2]] }), 400)).toMatch(
        /^instances is a plain list, but expecting list of objects/,
      );
      expect(expectError(await post(`${url}/v1/models/mixed:predict`, { instances: [{ x: [1, 2] }] }), 400)).toMatch(
        /keys must be equal to: text,x \(missing 'text'\)$/,
      );
    });

    it("an unversioned module model still gets the body as it is (signature_name included)", async () => {
      const r = await post(`${url}/v1/models/plain:predict`, { signature_name: "anything", instances: [1, 2] });
      expect(r.json).toEqual({ predictions: [1, 2] });
    });
  });

  describe(":classify", () => {
    it("iris: each example's values under the input's name; labels default to 0..C-1", async () => {
      const rows = iris.inputs.slice(0, 3);
      const r = await post(`${url}/v1/models/iris:classify`, { examples: rows.map((input) => ({ input })) });
      expect(r.status, r.text).toBe(200);
      expect(Object.keys(r.json)).toEqual(["results"]);
      const results = r.json.results as [string, number][][];
      expect(results.map((pairs) => pairs.map(([label]) => label))).toEqual(rows.map(() => ["0", "1", "2"]));
      expectClose(
        results.map((pairs) => pairs.map(([, score]) => score)),
        iris.probabilities.slice(0, 3),
        iris.tolerance,
      );
    });

    it("iris with model-settings features and classLabels; context shared by every example; by label", async () => {
      const [a, b] = iris.inputs;
      const example = (row: number[]) => ({ petal_width: row[3], sepal_length: row[0], petal_length: row[2] });
      // Features come in any order; model-settings.json 'features' puts them in the input's column order.
      const r = await post(`${url}/v1/models/iris_labelled/labels/stable:classify`, {
        signature_name: "serving_default",
        examples: [
          { ...example(a), sepal_width: a[1] },
          { ...example(b), sepal_width: b[1] },
        ],
      });
      expect(r.status, r.text).toBe(200);
      const results = r.json.results as [string, number][][];
      expect(results[0].map(([label]) => label)).toEqual(IRIS_LABELS);
      expectClose(
        results.map((pairs) => pairs.map(([, s]) => s)),
        iris.probabilities.slice(0, 2),
        iris.tolerance,
      );

      const withContext = await post(`${url}/v1/models/iris_labelled:classify`, {
        context: { sepal_width: a[1] },
        examples: [example(a)],
      });
      expect(withContext.json.results).toEqual([results[0]]);
    });

    it("models that do not fit are a 400 saying why", async () => {
      expect(expectError(await post(`${url}/v1/models/mixed:classify`, { examples: [{ x: [1, 2] }] }), 400)).toMatch(
        /^Model mixed cannot serve :classify: it needs exactly one float input \[N, F\]/,
      );
      expect(expectError(await post(`${url}/v1/models/scale:classify`, { examples: [{ x: 1 }] }), 400)).toMatch(
        /^Model scale cannot serve :classify: it needs a float output \[N, C\] of class scores/,
      );
    });

    it("request errors: 400 with TF Serving's messages; unknown model 404", async () => {
      const cases: [unknown, RegExp][] = [
        [{ context: {} }, /^When method is classify, key 'examples' is expected and was not found$/],
        [{ examples: [] }, /^'examples' value is an empty array$/],
        [{ examples: {} }, /^Expecting 'examples' value to be a list\/array$/],
        [{ context: { input: [1, 2, 3, 4] }, examples: [{ input: [1, 2, 3, 4] }] }, /also appears in 'context'/],
        [{ signature_name: "classification", examples: [{ input: [1, 2, 3, 4] }] }, /^Serving signature name: "classification" not found/],
        [{ examples: [{ input: [1, 2, 3] }] }, /^Feature: input of examples\[0\] has 3 values, expecting 4/],
        [{ examples: [{ petal: [1, 2, 3, 4] }] }, /^examples\[0\] must hold exactly one feature, 'input'/],
      ];
      for (const [body, message] of cases) {
        expect(expectError(await post(`${url}/v1/models/iris:classify`, body), 400)).toMatch(message);
      }
      const unknownFeature = await post(`${url}/v1/models/iris_labelled:classify`, {
        examples: [{ sepal_length: 1, sepal_width: 1, petal_length: 1, petal_width: 1, colour: "blue" }],
      });
      expect(expectError(unknownFeature, 400)).toMatch(/has feature 'colour', which is not one of the model's features/);
      expectError(await post(`${url}/v1/models/nosuch:classify`, { examples: [{ x: 1 }] }), 404, "nosuch");
      expectError(await post(`${url}/v1/models/iris:classify`, "{examples: ["), 400, "JSON Parse error");
    });
  });

  describe(":regress", () => {
    it("linear with features a, b, c: results per example, latest version by default", async () => {
      const xs = [
        [1, 2, 3],
        [0.5, -1, 4],
      ];
      const r = await post(`${url}/v1/models/linear:regress`, { examples: xs.map(([a, b, c]) => ({ a, b, c })) });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ results: xs.map((x) => linear(2, x)) });
    });

    it("/labels/stable and /versions/1 run version 1; context fills a shared feature", async () => {
      const body = { context: { c: 3 }, examples: [{ a: 1, b: 2 }] };
      for (const path of ["labels/stable", "versions/1"]) {
        const r = await post(`${url}/v1/models/linear/${path}:regress`, body);
        expect(r.json, path).toEqual({ results: [linear(1, [1, 2, 3])] });
      }
    });

    it("a rank-1 model takes one value per example, as TF Serving's half_plus_three example does", async () => {
      const r = await post(`${url}/v1/models/scale/versions/2:regress`, { examples: [{ x: 1.0 }, { x: 2.5 }] });
      expect(r.json).toEqual({ results: [2, 5] });
    });

    it("NaN and Infinity go in and come out as tokens", async () => {
      const r = await post(`${url}/v1/models/scale/versions/3:regress`, '{"examples": [{"x": NaN}, {"x": -Infinity}, {"x": 1}]}');
      expect(r.status, r.text).toBe(200);
      expect(r.text).toBe('{"results":[NaN,-Infinity,3]}');
    });

    it("models that do not fit, and bad examples, are 400s", async () => {
      expect(expectError(await post(`${url}/v1/models/iris:regress`, { examples: [{ input: [1, 2, 3, 4] }] }), 400)).toMatch(
        /^Model iris cannot serve :regress: it needs a float output \[N\] or \[N, 1\]/,
      );
      expect(expectError(await post(`${url}/v1/models/linear:regress`, { examples: [{ a: 1, b: 2 }] }), 400)).toBe(
        "examples[0] is missing feature 'c' (features: a, b, c)",
      );
      expect(expectError(await post(`${url}/v1/models/linear:regress`, {}), 400)).toBe(
        "When method is regress, key 'examples' is expected and was not found",
      );
    });
  });

  describe("paths match case-insensitively, as TF Serving's (?i) routes do", () => {
    it("status, metadata, predict, classify and regress", async () => {
      expect((await get(`${url}/V1/MODELS`)).json.models).toContain("linear");
      expect((await get(`${url}/V1/Models/linear/Versions/1`)).json.model_version_status).toHaveLength(1);
      expect((await get(`${url}/v1/MODELS/linear/LABELS/stable/METADATA`)).json.model_spec.version).toBe("1");
      const predict = await post(`${url}/V1/models/linear/Labels/canary:PREDICT`, { instances: [[1, 2, 3]] });
      expect(predict.json).toEqual({ predictions: [[linear(2, [1, 2, 3])]] });
      const regress = await post(`${url}/v1/Models/linear/VERSIONS/1:Regress`, { examples: [{ a: 1, b: 2, c: 3 }] });
      expect(regress.json).toEqual({ results: [linear(1, [1, 2, 3])] });
      const classify = await post(`${url}/V1/MODELS/iris:Classify`, { examples: [{ input: iris.inputs[0] }] });
      expect(classify.status).toBe(200);
    });

    it("model names and labels keep their case", async () => {
      expectError(await get(`${url}/v1/models/LINEAR`), 404, "LINEAR");
      expectError(await get(`${url}/v1/models/linear/labels/STABLE`), 400, "STABLE");
    });

    it("other paths are still 404", async () => {
      expectError(await get(`${url}/V2/models/linear`), 404);
      expectError(await get(`${url}/v1/modelz/linear`), 404);
    });
  });
});
