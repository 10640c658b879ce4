import { request as httpRequest } from "node:http";
import { cp, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dir, file, hardlink, readTree, symlink, tgz, zip } from "../fixtures/archives/build.ts";
import {
  expectError,
  FIXTURE_MODELS,
  FIXTURES,
  IRIS_DIR,
  post,
  type Reply,
  readJson,
  type Running,
  startWith,
  tempRepo,
  uploadArchive,
} from "./util.ts";

const TOKEN = "test-admin-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SCALE_V2 = { inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, 2] }] };

const scaleOnnx = (v: number) => readFile(join(FIXTURE_MODELS, "scale", String(v), "model.onnx"));

const upload = (url: string, name: string, body: Uint8Array, headers: Record<string, string> = AUTH): Promise<Reply> =>
  uploadArchive(url, name, body, headers);

async function scaled(url: string, name = "scale"): Promise<number[]> {
  const r = await post(`${url}/v2/models/${name}/infer`, SCALE_V2);
  expect(r.status, r.text).toBe(200);
  return r.json.outputs[0].data;
}

describe("model uploads", () => {
  let root: string;
  let running: Running;
  let url: string;

  beforeAll(async () => {
    root = await tempRepo();
    await mkdir(join(root, "scale"));
    await cp(join(FIXTURE_MODELS, "scale", "1"), join(root, "scale", "1"), { recursive: true });
    running = await startWith({ modelRepository: root, adminToken: TOKEN, maxUploadSize: 2 * 1024 * 1024 });
    url = running.url;
  });
  afterAll(async () => {
    await running?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The repository root holds exactly these model folders, and no upload leftovers (an empty work area at most). */
  async function expectRepository(models: string[]): Promise<void> {
    const names = (await readdir(root)).filter((n) => n !== ".tserve-tmp").sort();
    expect(names).toEqual([...models].sort());
    const area = await readdir(join(root, ".tserve-tmp")).catch(() => []);
    expect(area).toEqual([]);
  }

  describe("authorisation", () => {
    const body = Buffer.from("not even read");

    it("401 without a bearer token, with WWW-Authenticate: Bearer", async () => {
      const r = await upload(url, "scale", body, {});
      expectError(r, 401, "Authorization: Bearer");
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it("401 for a wrong token or another scheme", async () => {
      for (const authorization of [`Bearer ${TOKEN}x`, "Bearer ", `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`, TOKEN]) {
        const r = await upload(url, "scale", body, { authorization });
        expect(r.status, authorization).toBe(401);
        expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      expect(await scaled(url)).toEqual([1, 2]);
    });

    it("403 when the server has no admin token: model control is off by default", async () => {
      const other = await startWith({ modelRepository: root });
      try {
        expectError(await upload(other.url, "scale", body), 403, "--model_control_mode none", "--admin_token_file");
      } finally {
        await other.server.stop();
      }
    });

    it("403 in explicit mode without an admin token: uploads always need one", async () => {
      const other = await startWith({ modelRepository: root, modelControlMode: "explicit" });
      try {
        expectError(await upload(other.url, "scale", body), 403, "uploads are disabled", "--admin_token");
      } finally {
        await other.server.stop();
      }
    });

    it("501 with a clear message when the server has no model repository", async () => {
      const other = await startWith({ adminToken: TOKEN });
      try {
        expectError(await upload(other.url, "scale", await tgz([file("model.onnx", await scaleOnnx(2))])), 501, "--model_repository");
      } finally {
        await other.server.stop();
      }
    });
  });

  describe("installing", () => {
    it("uploads the Kubeflow iris archive and serves it over V1", async () => {
      const archive = await tgz([
        dir("1"),
        file("1/model.onnx", await readFile(join(IRIS_DIR, "1", "model.onnx"))),
        file("model-settings.json", await readFile(join(IRIS_DIR, "model-settings.json"))),
      ]);
      const r = await upload(url, "iris", archive);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ name: "iris", versions: ["1"], state: "READY" });
      const expected = await readJson(join(FIXTURES, "iris-expected.json"));
      const p = await post(`${url}/v1/models/iris:predict`, { instances: expected.inputs.slice(0, 2) });
      expect(p.status, p.text).toBe(200);
      p.json.predictions.forEach((row: number[], i: number) =>
        row.forEach((v, j) => expect(v).toBeCloseTo(expected.probabilities[i][j], 5)),
      );
      const index = await post(`${url}/v2/repository/index`, {});
      expect(index.json).toContainEqual({ name: "iris", version: "1", state: "READY", reason: "" });
      expect(await readFile(join(root, "iris", "1", "model.onnx"))).toEqual(await readFile(join(IRIS_DIR, "1", "model.onnx")));
      await expectRepository(["iris", "scale"]);
    });

    it("takes a TF Serving style archive of a numbered version folder (`tar -czvf iris.tar.gz 0001`)", async () => {
      const r = await upload(url, "kubeflow", await tgz([dir("0001"), file("0001/model.onnx", await readFile(join(IRIS_DIR, "1", "model.onnx")))]));
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ name: "kubeflow", versions: ["1"], state: "READY" });
      const p = await post(`${url}/v1/models/kubeflow:predict`, { instances: [[6.8, 2.8, 4.8, 1.4]] });
      expect(p.status, p.text).toBe(200);
      expect(p.json.predictions[0][1]).toBeCloseTo(0.8015484809875488, 5);
      expect(await readdir(join(root, "kubeflow"))).toEqual(["0001"]);
    });

    it("accepts a zip, with any content type, whose model sits in one top-level folder", async () => {
      const archive = await zip([dir("tripler"), dir("tripler/3"), file("tripler/3/model.onnx", await scaleOnnx(3))]);
      for (const contentType of ["application/zip", "application/octet-stream", "text/plain"]) {
        const r = await upload(url, "tripler", archive, { ...AUTH, "content-type": contentType });
        expect(r.status, r.text).toBe(200);
        expect(r.json).toEqual({ name: "tripler", versions: ["3"], state: "READY" });
      }
      expect(await scaled(url, "tripler")).toEqual([3, 6]);
      expect(await readdir(join(root, "tripler"))).toEqual(["3"]);
    });

    it("replaces an existing model: the answers change, the old version is gone", async () => {
      expect(await scaled(url)).toEqual([1, 2]);
      const r = await upload(url, "scale", await tgz([dir("2"), file("2/model.onnx", await scaleOnnx(2))]));
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ name: "scale", versions: ["2"], state: "READY" });
      expect(await scaled(url)).toEqual([2, 4]);
      const rows = (await post(`${url}/v2/repository/index`, {})).json.filter((x: { name: string }) => x.name === "scale");
      expect(rows).toEqual([{ name: "scale", version: "2", state: "READY", reason: "" }]);
      expect(await readdir(join(root, "scale"))).toEqual(["2"]);
      await expectRepository(["iris", "kubeflow", "scale", "tripler"]);
    });

    it("two uploads of one model at once: each installs or gets 409, and the folder matches what is served", async () => {
      const [a, b] = await Promise.all([
        upload(url, "twice", await tgz([file("model.onnx", await scaleOnnx(2))])),
        upload(url, "twice", await tgz([file("model.onnx", await scaleOnnx(3))])),
      ]);
      for (const r of [a, b]) {
        if (r.status === 409) expectError(r, 409, "twice", "busy", "upload");
        else expect(r.status, r.text).toBe(200);
      }
      expect([a.status, b.status]).toContain(200);
      const answer = await scaled(url, "twice");
      const onDisk = await readFile(join(root, "twice", "model.onnx"));
      expect(onDisk).toEqual(await scaleOnnx(answer[0]));
      await rm(join(root, "twice"), { recursive: true });
      expect((await post(`${url}/v2/repository/models/twice/unload`, undefined, AUTH)).status).toBe(200);
    });
  });

  describe("refusals leave the old model serving and the repository untouched", () => {
    let before: Map<string, Buffer | "dir">;
    beforeAll(async () => {
      before = await readTree(root);
      before.delete(".tserve-tmp/");
    });

    async function expectUnchanged(): Promise<void> {
      expect(await scaled(url)).toEqual([2, 4]);
      const now = await readTree(root);
      now.delete(".tserve-tmp/");
      expect(now).toEqual(before);
      await expectRepository(["iris", "kubeflow", "scale", "tripler"]);
    }

    const good = async () => [dir("2"), file("2/model.onnx", await scaleOnnx(3))];

    it("path traversal", async () => {
      expectError(await upload(url, "scale", await tgz([...(await good()), file("../../escape.txt", "x")])), 400, "../../escape.txt");
      await expectUnchanged();
    });

    it("absolute paths and symlinks or hardlinks leaving the folder", async () => {
      expectError(await upload(url, "scale", await tgz([file("/etc/cron.d/x", "x")])), 400, "/etc/cron.d/x", "absolute");
      expectError(await upload(url, "scale", await tgz([...(await good()), symlink("2/x", "/etc/passwd")])), 400, "2/x", "outside the folder");
      expectError(await upload(url, "scale", await tgz([...(await good()), hardlink("h", "../../../etc/passwd")])), 400, "outside the folder");
      await expectUnchanged();
    });

    it("a zip bomb (past TSERVE_EXTRACT_MAX_BYTES)", async () => {
      const saved = process.env.TSERVE_EXTRACT_MAX_BYTES;
      process.env.TSERVE_EXTRACT_MAX_BYTES = String(1024 * 1024);
      try {
        const bomb = await zip([...(await good()), file("2/weights.bin", Buffer.alloc(16 * 1024 * 1024))]);
        expect(bomb.length).toBeLessThan(100 * 1024);
        expectError(await upload(url, "scale", bomb), 400, "2/weights.bin", "TSERVE_EXTRACT_MAX_BYTES");
      } finally {
        if (saved === undefined) delete process.env.TSERVE_EXTRACT_MAX_BYTES;
        else process.env.TSERVE_EXTRACT_MAX_BYTES = saved;
      }
      await expectUnchanged();
    });

    it("not an archive, an empty body, or an archive without a model", async () => {
      expectError(await upload(url, "scale", Buffer.from("hello, this is not an archive")), 400, "not a tar, tar.gz or zip");
      expectError(await upload(url, "scale", Buffer.alloc(0)), 400, "empty");
      expectError(await upload(url, "scale", await tgz([file("README.md", "hi"), dir("docs")])), 400, "no servable model", "README.md");
      await expectUnchanged();
    });

    it("a model that fails to load: 400 with the reason, rolled back to the old folder", async () => {
      const broken = await tgz([dir("2"), file("2/model.onnx", "this is not an onnx protobuf")]);
      const r = await upload(url, "scale", broken);
      expectError(r, 400, "scale", "failed to load");
      await expectUnchanged();
    });

    it("a model-settings.json naming another model", async () => {
      const r = await upload(url, "scale", await tgz([...(await good()), file("model-settings.json", '{"name": "other"}')]));
      expectError(r, 400, '"other"', "'scale'");
      await expectUnchanged();
    });

    it("invalid names: dot-folders are never models", async () => {
      expectError(await upload(url, ".tserve-tmp", await tgz(await good())), 400, "start with '.'");
      expect((await post(`${url}/v2/repository/models/.tserve-tmp/load`, undefined, AUTH)).status).toBe(404);
      await expectUnchanged();
    });

    it("413 past --max_upload_size, declared or streamed", async () => {
      const big = Buffer.alloc(3 * 1024 * 1024, 1);
      expectError(await upload(url, "scale", big), 413, "--max_upload_size");
      // Chunked: no Content-Length, so the limit is found while reading.
      const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${url}/v2/repository/models/scale/upload`, { method: "POST", headers: AUTH }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        for (let i = 0; i < 48; i++) req.write(Buffer.alloc(64 * 1024, 2));
        req.end();
      });
      expect(chunked.status, chunked.text).toBe(413);
      expect(chunked.text).toContain("--max_upload_size");
      await expectUnchanged();
    });
  });
});

describe("replacing a TypeScript model by upload", () => {
  it("serves the new code, not the module Node imported before", async () => {
    const root = await tempRepo();
    const component = (answer: string) => `export default class Answer {\n  predict(): string[][] {\n    return [["${answer}"]];\n  }\n}\n`;
    const settings = JSON.stringify({ runtime: "seldon" });
    const running = await startWith({ modelRepository: root, adminToken: TOKEN, enableGrpc: false, allowCodeUploads: true });
    try {
      for (const answer of ["first", "second", "third"]) {
        const r = await upload(running.url, "code", await tgz([file("model.ts", component(answer)), file("model-settings.json", settings)]));
        expect(r.status, r.text).toBe(200);
        const p = await post(`${running.url}/v1/models/code:predict`, { instances: [[1]] });
        expect(p.status, p.text).toBe(200);
        expect(p.json).toEqual({ predictions: [[answer]] });
      }
    } finally {
      await running.server.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("uploads that hold code", () => {
  let root: string;
  let strict: Running;

  beforeAll(async () => {
    root = await tempRepo();
    await mkdir(join(root, "scale"));
    await cp(join(FIXTURE_MODELS, "scale", "1"), join(root, "scale", "1"), { recursive: true });
    strict = await startWith({ modelRepository: root, adminToken: TOKEN, enableGrpc: false });
  });
  afterAll(async () => {
    await strict?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const onnx = async () => file("1/model.onnx", await scaleOnnx(3));

  it("are refused by default with 403, naming the entry and --allow_code_uploads; nothing changes", async () => {
    const before = await readTree(root);
    const cases: [string, ReturnType<typeof file>, string][] = [
      ["model.ts", file("model.ts", "export default class M {}"), "JavaScript/TypeScript module"],
      ["1/helper.mjs", file("1/helper.mjs", "export {}"), "JavaScript/TypeScript module"],
      ["start.sh", file("start.sh", "python -m http.server $PORT"), "shell script"],
      ["1/addon.node", file("1/addon.node", Buffer.from([0x7f, 0x45, 0x4c, 0x46])), "native code"],
      ["tools/run", file("tools/run", "#!/usr/bin/env python3\nprint(1)\n"), "#!"],
      ["bin/tool", file("bin/tool", Buffer.from([0, 1, 2, 3]), 0o755), "executable"],
    ];
    for (const [path, entry, kind] of cases) {
      const r = await upload(strict.url, "scale", await tgz([await onnx(), entry]));
      expectError(r, 403, `'${path}'`, kind, "--allow_code_uploads");
    }
    expect(await scaled(strict.url)).toEqual([1, 2]);
    const after = await readTree(root);
    after.delete(".tserve-tmp/"); // the (empty) upload work area
    expect(after).toEqual(before);
  });

  it("model files alone (.onnx, settings, data) are accepted", async () => {
    const archive = await tgz([
      await onnx(),
      file("model-settings.json", "{}"),
      file("labels.txt", "a\nb\n"),
      file("1/weights.bin", Buffer.alloc(64, 7)),
    ]);
    const r = await upload(strict.url, "scale", archive);
    expect(r.status, r.text).toBe(200);
    expect(await scaled(strict.url)).toEqual([3, 6]);
  });

  it("--allow_code_uploads accepts a module", async () => {
    const open = await startWith({ modelRepository: root, adminToken: TOKEN, enableGrpc: false, allowCodeUploads: true });
    try {
      const component = 'export default class Answer {\n  predict(): string[][] {\n    return [["from code"]];\n  }\n}\n';
      const r = await upload(open.url, "code", await tgz([file("model.ts", component), file("model-settings.json", '{"runtime": "seldon"}')]));
      expect(r.status, r.text).toBe(200);
      expect((await post(`${open.url}/v1/models/code:predict`, { instances: [[1]] })).json).toEqual({ predictions: [["from code"]] });
    } finally {
      await open.server.stop();
    }
  });
});
