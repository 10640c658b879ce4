/**
 * The deployment manifests in deploy/: every document validates against its CRD's OpenAPI schema (KServe's CRDs in
 * test/fixtures/kserve-crds/, tightened so an unknown field fails as `kubectl apply --validate=strict` does), passes
 * the admission rules of test/deploy/rules.ts (each rule also shown to reject a mutated manifest), fits the tserve
 * runtime's contract (KServe's arguments, ports, probes, non-root), and parses as a tserve command line.
 * `kubectl kustomize deploy/kserve` must render (skipped without kubectl).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import {
  inferenceGraphProblems,
  inferenceServiceProblems,
  KSERVE_CONTAINER,
  type Manifest,
  runtimeSupportsModel,
  SELDON_DEPLOYMENT_SCHEMA,
  seldonDeploymentProblems,
  servingRuntimeProblems,
} from "./rules.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEPLOY = join(ROOT, "deploy");
const CRDS = join(ROOT, "test", "fixtures", "kserve-crds");
const IMAGE = "ghcr.io/tserve/tserve:0.1.0";

interface Doc {
  /** deploy/kserve/examples/iris-onnx-s3.yaml#0 */
  id: string;
  file: string;
  doc: Manifest;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) && e.name !== "kustomization.yaml" ? [join(dir, e.name)] : [],
  );
}

function readDocs(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS() as Manifest).filter((d) => d !== null);
}

const DOCS: Doc[] = yamlFiles(DEPLOY).flatMap((file) =>
  readDocs(file).map((doc, i) => ({ id: `${relative(ROOT, file)}#${i}`, file: relative(ROOT, file), doc })),
);
const ofKind = (kind: string) => DOCS.filter((d) => d.doc.kind === kind);
const clone = <T>(value: T): T => structuredClone(value);

// ---- schemas ----

const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const STRING_MAP = { type: "object", additionalProperties: { type: "string" } };
/** ObjectMeta as a manifest writes it (the CRDs leave metadata open: the API server checks it). */
const OBJECT_META = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string", pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
    namespace: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
    labels: STRING_MAP,
    annotations: STRING_MAP,
  },
};

/**
 * A structural schema made strict: objects that declare their properties reject others (unless they preserve
 * unknown fields), as the API server's strict field validation does instead of silently pruning them.
 */
function strict(schema: Manifest): Manifest {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Manifest = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v as Manifest).map(([p, s]) => [p, strict(s)]));
    else if (k === "items" || k === "additionalProperties" || k === "allOf" || k === "anyOf" || k === "oneOf" || k === "not") out[k] = strict(v);
    else out[k] = v;
  }
  if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) out.additionalProperties = false;
  return out;
}

/** A CRD version's openAPIV3Schema, strict, for manifests of exactly that apiVersion and kind. */
function crdSchema(file: string, version: string): Manifest {
  const crd = readDocs(join(CRDS, file)).find((d) => d.kind === "CustomResourceDefinition")!;
  const v = crd.spec.versions.find((x: Manifest) => x.name === version);
  if (!v?.served) throw new Error(`${file}: version ${version} is not served`);
  const schema = strict(v.schema.openAPIV3Schema);
  schema.required = ["apiVersion", "kind", "metadata", "spec"];
  schema.properties.apiVersion = { const: `${crd.spec.group}/${version}` };
  schema.properties.kind = { const: crd.spec.names.kind };
  schema.properties.metadata = OBJECT_META;
  return schema;
}

/** The Kubernetes core kinds the examples use, as far as they use them. */
const CORE_SCHEMAS: Record<string, Manifest> = {
  "v1/Secret": {
    type: "object",
    required: ["apiVersion", "kind", "metadata"],
    additionalProperties: false,
    properties: {
      apiVersion: { const: "v1" },
      kind: { const: "Secret" },
      metadata: OBJECT_META,
      type: { type: "string" },
      stringData: STRING_MAP,
      data: { type: "object", additionalProperties: { type: "string", contentEncoding: "base64" } },
    },
  },
  "v1/ServiceAccount": {
    type: "object",
    required: ["apiVersion", "kind", "metadata"],
    additionalProperties: false,
    properties: {
      apiVersion: { const: "v1" },
      kind: { const: "ServiceAccount" },
      metadata: OBJECT_META,
      secrets: { type: "array", items: { type: "object", required: ["name"], additionalProperties: false, properties: { name: { type: "string" } } } },
      imagePullSecrets: { type: "array", items: { type: "object", required: ["name"], properties: { name: { type: "string" } } } },
    },
  },
};

const CRD_FILES: Record<string, [string, string]> = {
  "serving.kserve.io/v1alpha1/ClusterServingRuntime": ["serving.kserve.io_clusterservingruntimes.yaml", "v1alpha1"],
  "serving.kserve.io/v1alpha1/ServingRuntime": ["serving.kserve.io_servingruntimes.yaml", "v1alpha1"],
  "serving.kserve.io/v1beta1/InferenceService": ["serving.kserve.io_inferenceservices.yaml", "v1beta1"],
  "serving.kserve.io/v1alpha1/InferenceGraph": ["serving.kserve.io_inferencegraphs.yaml", "v1alpha1"],
};

// strict: false lets Ajv ignore the x-kubernetes-* keywords; formats (int32, int64, quantity …) are not checked.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

function validatorFor(doc: Manifest): ValidateFunction {
  const key = `${doc.apiVersion}/${doc.kind}`;
  let validate = validators.get(key);
  if (!validate) {
    if (key === "machinelearning.seldon.io/v1/SeldonDeployment") validate = ajv.compile(SELDON_DEPLOYMENT_SCHEMA);
    else if (CORE_SCHEMAS[key]) validate = ajv.compile(CORE_SCHEMAS[key]);
    else if (CRD_FILES[key]) validate = ajv.compile(crdSchema(...CRD_FILES[key]));
    else throw new Error(`no schema for ${key}`);
    validators.set(key, validate);
  }
  return validate;
}

/** The schema's complaints about a manifest, one line each (empty: valid). */
function schemaErrors(doc: Manifest): string[] {
  const validate = validatorFor(doc);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? `: ${e.params.additionalProperty}` : ""}`);
}

// ---- the documents ----

const csr = () => ofKind("ClusterServingRuntime")[0].doc;
const runtimeContainer = (sr: Manifest): Manifest => sr.spec.containers.find((c: Manifest) => c.name === KSERVE_CONTAINER);
const isvcs = () => ofKind("InferenceService").map((d) => d.doc);

describe("deploy/ manifests", () => {
  beforeAll(() => {
    // Compiling the InferenceService CRD (2 MB of YAML) takes a few seconds: once, here.
    for (const d of DOCS) validatorFor(d.doc);
  });

  it("finds every kind it expects", () => {
    expect(DOCS.map((d) => d.doc.kind).sort()).toEqual(
      expect.arrayContaining(["ClusterServingRuntime", "ServingRuntime", "InferenceService", "InferenceGraph", "SeldonDeployment", "Secret", "ServiceAccount"]),
    );
    expect(ofKind("InferenceService").map((d) => d.doc.metadata.name).sort()).toEqual(["cat-dog-classifier", "dog-breed-classifier", "image-classifier", "iris"]);
  });

  it.each(DOCS.map((d) => [d.id, d] as const))("%s validates against its schema", (_id, d) => {
    expect(schemaErrors(d.doc)).toEqual([]);
  });

  it.each(DOCS.map((d) => [d.id, d] as const))("%s passes KServe's / Seldon's admission rules", (_id, d) => {
    const rules: Record<string, (m: Manifest) => string[]> = {
      ClusterServingRuntime: servingRuntimeProblems,
      ServingRuntime: servingRuntimeProblems,
      InferenceService: inferenceServiceProblems,
      InferenceGraph: inferenceGraphProblems,
      SeldonDeployment: seldonDeploymentProblems,
    };
    expect(rules[d.doc.kind]?.(d.doc) ?? []).toEqual([]);
  });

  it("uses one image everywhere", () => {
    const images = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (k === "image" && typeof x === "string") images.add(x);
          else walk(x);
        }
      }
    };
    DOCS.forEach((d) => walk(d.doc));
    expect([...images]).toEqual([IMAGE]);
  });
});

describe("the tserve runtime", () => {
  it("has KServe's arguments, both ports, metrics annotations and health probes", () => {
    const spec = csr().spec;
    const c = runtimeContainer(csr());
    expect(spec.containers[0].name).toBe(KSERVE_CONTAINER);
    expect(c.args).toEqual(["--model_name={{.Name}}", "--model_dir=/mnt/models", "--http_port=8080", "--grpc_port=8081"]);
    expect(c.ports).toEqual([
      { name: "http1", containerPort: 8080, protocol: "TCP" },
      { name: "h2c", containerPort: 8081, protocol: "TCP" },
    ]);
    expect(spec.annotations).toEqual({ "prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics" });
    expect(spec.protocolVersions).toEqual(["v1", "v2", "grpc-v2"]);
    expect(c.livenessProbe.httpGet).toEqual({ path: "/v2/health/live", port: 8080 });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/v2/health/ready", port: 8080 });
    expect(c.startupProbe.httpGet).toEqual({ path: "/v2/health/live", port: 8080 });
  });

  it("claims onnx only when named and tserve models by itself", () => {
    expect(csr().spec.supportedModelFormats).toEqual([
      { name: "onnx", version: "1", autoSelect: false },
      { name: "tserve", autoSelect: true, priority: 1 },
    ]);
    const spec = csr().spec;
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "onnx" } })).toBe(false);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "onnx" }, runtime: "tserve" })).toBe(true);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "onnx", version: "1" }, runtime: "tserve" })).toBe(true);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "onnx", version: "2" }, runtime: "tserve" })).toBe(false);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "tserve" } })).toBe(true);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "tserve" }, protocolVersion: "grpc-v2" })).toBe(true);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "tserve" }, protocolVersion: "grpc-v1" })).toBe(false);
    expect(runtimeSupportsModel(spec, { modelFormat: { name: "sklearn" }, runtime: "tserve" })).toBe(false);
  });

  it("runs as non-root on a read-only root file system, with /tmp writable", () => {
    const sr = csr();
    const c = runtimeContainer(sr);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.volumeMounts).toContainEqual({ name: "tserve-tmp", mountPath: "/tmp" });
    expect(sr.spec.volumes).toContainEqual({ name: "tserve-tmp", emptyDir: { sizeLimit: "1Gi" } });
    expect(c.env).toContainEqual({ name: "TSERVE_CACHE_DIR", value: "/tmp/tserve" });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits).toBeDefined();
  });

  it("is the same spec as a namespaced ServingRuntime", () => {
    const [namespaced] = ofKind("ServingRuntime");
    expect(namespaced.doc.metadata).toEqual(csr().metadata);
    expect(namespaced.doc.spec).toEqual(csr().spec);
  });

  it("picks the tserve runtime for every InferenceService predictor", () => {
    for (const isvc of isvcs()) {
      const model = isvc.spec.predictor.model;
      expect(model, isvc.metadata.name).toBeDefined();
      expect(model.runtime === undefined || model.runtime === "tserve", isvc.metadata.name).toBe(true);
      expect(runtimeSupportsModel(csr().spec, model), isvc.metadata.name).toBe(true);
    }
  });
});

describe("the examples", () => {
  const accounts = () => ofKind("ServiceAccount").filter((d) => d.file.startsWith("deploy/kserve/"));

  it("name ServiceAccounts whose Secrets carry KServe's S3 annotations", () => {
    const secrets = new Map(ofKind("Secret").map((d) => [d.doc.metadata.name, d.doc]));
    const names = new Set(accounts().map((d) => d.doc.metadata.name));
    const used = isvcs().flatMap((i) => [i.spec.predictor, i.spec.transformer].filter(Boolean).map((c: Manifest) => c.serviceAccountName));
    expect(used.length).toBeGreaterThan(0);
    for (const sa of used) expect(names.has(sa), sa).toBe(true);
    for (const { doc } of accounts()) {
      for (const { name } of doc.secrets) {
        const secret = secrets.get(name)!;
        expect(secret, name).toBeDefined();
        expect(Object.keys(secret.stringData).sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
        for (const key of Object.keys(secret.metadata.annotations)) {
          expect(key).toMatch(/^serving\.kserve\.io\/s3-(endpoint|usehttps|region|verifyssl|useanoncredential|usevirtualbucket|useaccelerate|cabundle|cabundle-configmap)$/);
        }
      }
    }
    const iris = isvcs().find((i) => i.metadata.name === "iris")!;
    expect(iris.spec.predictor.model).toEqual({ modelFormat: { name: "onnx" }, runtime: "tserve", storageUri: expect.stringMatching(/^s3:\/\/.+\/iris$/) });
  });

  it("put a TypeScript transformer in front of an ONNX predictor, leaving KServe's own arguments to KServe", () => {
    const isvc = isvcs().find((i) => i.spec.transformer)!;
    const [t] = isvc.spec.transformer.containers;
    // KServe appends --model_name, --predictor_host and --http_port to a custom transformer (transformer_custom.go).
    for (const flag of ["--model_name", "--predictor_host", "--http_port"]) expect(t.args.some((a: string) => a.startsWith(flag))).toBe(false);
    expect(t.args).toContain("--model_dir=/mnt/models");
    expect(t.env).toContainEqual({ name: "STORAGE_URI", value: expect.stringMatching(/^s3:\/\//) });
    expect(isvc.spec.predictor.model).toMatchObject({ modelFormat: { name: "onnx" }, runtime: "tserve" });
    expect(t.readinessProbe.httpGet.path).toBe("/v2/health/ready");
    expect(t.securityContext).toMatchObject(runtimeContainer(csr()).securityContext);
  });

  it("run the dog-breed graph of examples/dog-breed-pipeline over InferenceServices of the same file", () => {
    const [graph] = ofKind("InferenceGraph");
    const tutorial = parse(readFileSync(join(ROOT, "examples", "dog-breed-pipeline", "graph.yaml"), "utf8"));
    expect(graph.doc.spec).toEqual(tutorial.spec);
    const names = DOCS.filter((d) => d.file === graph.file && d.doc.kind === "InferenceService").map((d) => d.doc.metadata.name);
    const targets = Object.values(graph.doc.spec.nodes as Record<string, Manifest>).flatMap((n) => n.steps.map((s: Manifest) => s.serviceName));
    expect(targets.sort()).toEqual(names.sort());
  });
});

/** The image's ENTRYPOINT (deploy/Containerfile): the containers give only arguments after it. */
function entrypoint(): string[] {
  const text = readFileSync(join(DEPLOY, "Containerfile"), "utf8");
  const line = text.split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error("deploy/Containerfile has no ENTRYPOINT");
  return JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
}

describe("the command lines", () => {
  let parse: (argv: string[]) => { positionals: string[]; flags: Record<string, unknown> };
  beforeAll(async () => {
    const [{ SERVE_FLAGS }, { parseArgs }] = await Promise.all([
      import("../../packages/server/src/cli/serve.ts"),
      import("../../packages/server/src/cli/args.ts"),
    ]);
    parse = (argv) => parseArgs(argv, SERVE_FLAGS, { warn: (m) => { throw new Error(m); } });
  });

  /** What Kubernetes and KServe hand the container: templates filled, $(VAR) expanded, KServe's own arguments added. */
  const commandLines = (): [string, string[]][] => {
    const lines: [string, string[]][] = [];
    const fill = (a: string) => a.replace("{{.Name}}", "iris").replace(/\$\(PREDICTIVE_UNIT_(HTTP|GRPC)_SERVICE_PORT\)/, (_m, p) => (p === "HTTP" ? "9000" : "9500"));
    for (const d of DOCS) {
      const specs: Manifest[] = [];
      if (d.doc.kind.endsWith("ServingRuntime")) specs.push(d.doc.spec);
      if (d.doc.kind === "InferenceService" && d.doc.spec.transformer) specs.push(d.doc.spec.transformer);
      if (d.doc.kind === "SeldonDeployment") specs.push(...d.doc.spec.predictors.flatMap((p: Manifest) => p.componentSpecs.map((c: Manifest) => c.spec)));
      for (const spec of specs) {
        for (const c of spec.containers) {
          expect(c.command, `${d.id} ${c.name}: the image's entrypoint runs tserve serve`).toBeUndefined();
          const extra = d.doc.kind === "InferenceService" ? ["--model_name", d.doc.metadata.name, "--predictor_host", "p.ns", "--http_port", "8080"] : [];
          lines.push([`${d.id} ${c.name}`, [...c.args.map(fill), ...extra]]);
        }
      }
    }
    return lines;
  };

  it("follow the image's entrypoint, tserve serve", () => {
    const serve = entrypoint();
    expect(serve.at(-1)).toBe("serve");
    // Another subcommand replaces the entrypoint with the same program.
    for (const d of ofKind("SeldonDeployment")) {
      for (const c of d.doc.spec.predictors.flatMap((p: Manifest) => p.componentSpecs.flatMap((x: Manifest) => x.spec.initContainers ?? []))) {
        expect(c.command, c.name).toEqual([...serve.slice(0, -1), "pull"]);
        expect(c.args).toEqual([expect.stringMatching(/^s3:\/\//), "/mnt/models"]);
      }
    }
  });

  it("parse as tserve serve arguments", () => {
    const lines = commandLines();
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const [where, argv] of lines) {
      const { positionals, flags } = (() => {
        try {
          return parse(argv);
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`);
        }
      })();
      expect(positionals.length + (flags.model_dir === undefined ? 0 : 1), where).toBe(1);
    }
  });
});

describe("kubectl kustomize deploy/kserve", () => {
  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  const available = !kubectl.error && kubectl.status === 0;

  it.skipIf(!available)("renders the ClusterServingRuntime, offline", () => {
    const out = spawnSync("kubectl", ["kustomize", join(DEPLOY, "kserve")], { encoding: "utf8", timeout: 30_000 });
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
    const docs = parseAllDocuments(out.stdout).map((d) => d.toJS());
    expect(docs).toEqual([csr()]);
  });

  it.skipIf(!available)("lets an overlay replace the image", () => {
    const dir = mkdtempSync(join(tmpdir(), "tserve-kustomize-"));
    try {
      writeFileSync(
        join(dir, "kustomization.yaml"),
        `resources:\n  - ${relative(dir, join(DEPLOY, "kserve"))}\nimages:\n  - name: ghcr.io/tserve/tserve\n    newName: registry.example/tserve\n    newTag: "9"\n`,
      );
      const out = spawnSync("kubectl", ["kustomize", "--load-restrictor=LoadRestrictionsNone", dir], { encoding: "utf8", timeout: 30_000 });
      expect(out.status, out.stderr).toBe(0);
      expect(parse(out.stdout).spec.containers[0].image).toBe("registry.example/tserve:9");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- each rule rejects what it should ----

describe("the checks reject broken manifests", () => {
  const withDoc = (kind: string, name?: string) => clone(DOCS.find((d) => d.doc.kind === kind && (name === undefined || d.doc.metadata.name === name))!.doc);

  describe("CRD schemas (strict)", () => {
    it.each([
      ["an unknown container field", "ClusterServingRuntime", (m: Manifest) => (m.spec.containers[0].imagePullPolcy = "Always"), "must NOT have additional properties: imagePullPolcy"],
      ["a port given as a string", "ClusterServingRuntime", (m: Manifest) => (m.spec.containers[0].ports[0].containerPort = "8080"), "must be integer"],
      ["a model format without a name", "ServingRuntime", (m: Manifest) => delete m.spec.supportedModelFormats[0].name, "must have required property 'name'"],
      ["a priority below 1", "ClusterServingRuntime", (m: Manifest) => (m.spec.supportedModelFormats[1].priority = 0), "must be >= 1"],
      ["a misspelt storageUri", "InferenceService", (m: Manifest) => (m.spec.predictor.model.storageURI = "s3://x"), "must NOT have additional properties: storageURI"],
      ["a modelFormat that is a string", "InferenceService", (m: Manifest) => (m.spec.predictor.model.modelFormat = "onnx"), "must be object"],
      ["an unknown router type", "InferenceGraph", (m: Manifest) => (m.spec.nodes.root.routerType = "Parallel"), "allowed values"],
      ["a graph without nodes", "InferenceGraph", (m: Manifest) => delete m.spec.nodes, "must have required property 'nodes'"],
      ["a wrong apiVersion", "InferenceService", (m: Manifest) => (m.apiVersion = "serving.kserve.io/v1alpha1"), "no schema for serving.kserve.io/v1alpha1/InferenceService"],
      ["an upper-case name", "InferenceService", (m: Manifest) => (m.metadata.name = "Iris"), "/metadata/name must match pattern"],
      ["an unknown Seldon unit type", "SeldonDeployment", (m: Manifest) => (m.spec.predictors[0].graph.type = "MODELS"), "allowed values"],
      ["an unknown Seldon parameter type", "SeldonDeployment", (m: Manifest) => (m.spec.predictors[0].graph.parameters[0].type = "LONG"), "allowed values"],
      ["a Seldon container without an image", "SeldonDeployment", (m: Manifest) => delete m.spec.predictors[0].componentSpecs[0].spec.containers[0].image, "must have required property 'image'"],
      ["an unknown ServiceAccount field", "ServiceAccount", (m: Manifest) => (m.secret = []), "must NOT have additional properties: secret"],
    ])("%s", (_what, kind, mutate, mentions) => {
      const m = withDoc(kind);
      mutate(m);
      let errors: string[];
      try {
        errors = schemaErrors(m);
      } catch (err) {
        errors = [(err as Error).message];
      }
      expect(errors.join("\n")).toContain(mentions);
    });
  });

  describe("InferenceGraph admission", () => {
    it.each([
      ["a name that is no DNS-1035 label", (g: Manifest) => (g.metadata.name = "dog_breed"), "is invalid"],
      ["no root node", (g: Manifest) => ((g.spec.nodes = { start: g.spec.nodes.root })), "root node not found"],
      ["two steps of one name", (g: Manifest) => (g.spec.nodes.root.steps[1].name = "cat_dog_classifier"), "more than one step with name"],
      ["a step with no target", (g: Manifest) => delete g.spec.nodes.root.steps[0].serviceName, "does not specify an inference target"],
      ["a step with two targets", (g: Manifest) => (g.spec.nodes.root.steps[0].serviceUrl = "http://x"), "more than one of nodeName, serviceName, serviceUrl"],
      ["a splitter step without a weight", (g: Manifest) => Object.assign(g.spec.nodes.root, { routerType: "Splitter" }), "missing the 'Weight'"],
      [
        "splitter weights that do not sum to 100",
        (g: Manifest) => {
          g.spec.nodes.root.routerType = "Splitter";
          g.spec.nodes.root.steps.forEach((s: Manifest) => (s.weight = 45));
        },
        "should be 100",
      ],
    ])("%s", (_what, mutate, mentions) => {
      const g = withDoc("InferenceGraph");
      mutate(g);
      expect(inferenceGraphProblems(g).join("\n")).toContain(mentions);
    });

    it("accepts splitter weights that sum to 100", () => {
      const g = withDoc("InferenceGraph");
      g.spec.nodes.root.routerType = "Splitter";
      g.spec.nodes.root.steps.forEach((s: Manifest, i: number) => (s.weight = i === 0 ? 30 : 70));
      expect(inferenceGraphProblems(g)).toEqual([]);
    });
  });

  describe("InferenceService admission", () => {
    it.each([
      ["a name starting with a digit", "iris", (i: Manifest) => (i.metadata.name = "1iris"), "is invalid"],
      ["a name over 63 characters", "iris", (i: Manifest) => (i.metadata.name = "a".repeat(64)), "is invalid"],
      ["a model and a kserve-container", "iris", (i: Manifest) => (i.spec.predictor.containers = [{ name: "kserve-container", image: IMAGE }]), "exactly one implementation"],
      ["no predictor implementation", "iris", (i: Manifest) => delete i.spec.predictor.model, "exactly one implementation"],
      ["a transformer without containers", "image-classifier", (i: Manifest) => (i.spec.transformer.containers = []), "TransformerSpec"],
      ["a name on a standard predictor", "iris", (i: Manifest) => (i.spec.predictor.model.name = "iris"), "'name' field is not allowed"],
      ["PYTHONPATH in the model's env", "iris", (i: Manifest) => (i.spec.predictor.model.env = [{ name: "PYTHONPATH", value: "/x" }]), "not allowed for security reasons"],
      ["PYTHONPATH in a transformer", "image-classifier", (i: Manifest) => i.spec.transformer.containers[0].env.push({ name: "PYTHONPATH", value: "/x" }), "not allowed for security reasons"],
      [
        "a storage URI on a collocated transformer",
        "iris",
        (i: Manifest) => {
          delete i.spec.predictor.model;
          i.spec.predictor.containers = [
            { name: "kserve-container", image: IMAGE },
            { name: "transformer-container", image: IMAGE, env: [{ name: "STORAGE_URI", value: "s3://x" }] },
          ];
        },
        "storage uri should not be specified in transformer container",
      ],
      ["storageUri and storageUris", "iris", (i: Manifest) => (i.spec.predictor.storageUris = [{ uri: "s3://x", mountPath: "/mnt/models" }]), "StorageURIs is not supported"],
      ["minReplicas above maxReplicas", "iris", (i: Manifest) => Object.assign(i.spec.predictor, { minReplicas: 3, maxReplicas: 2 }), "MinReplicas cannot be greater"],
    ])("%s", (_what, name, mutate, mentions) => {
      const i = withDoc("InferenceService", name);
      mutate(i);
      expect(inferenceServiceProblems(i).join("\n")).toContain(mentions);
    });

    it("does not pick the tserve runtime for a format it does not serve", () => {
      const i = withDoc("InferenceService", "iris");
      i.spec.predictor.model.modelFormat = { name: "sklearn" };
      expect(runtimeSupportsModel(csr().spec, i.spec.predictor.model)).toBe(false);
      i.spec.predictor.model = { modelFormat: { name: "onnx" }, storageUri: "s3://x" }; // runtime no longer named
      expect(runtimeSupportsModel(csr().spec, i.spec.predictor.model)).toBe(false);
    });
  });

  describe("ServingRuntime admission", () => {
    it.each([
      ["containers[0] not named kserve-container", (s: Manifest) => (s.spec.containers[0].name = "tserve"), "must be named kserve-container"],
      ["no containers", (s: Manifest) => (s.spec.containers = []), "Required value"],
      ["an unknown protocol version", (s: Manifest) => s.spec.protocolVersions.push("v3"), '"v3" is not one of'],
      ["a model format version that is not a version", (s: Manifest) => (s.spec.supportedModelFormats[0].version = "one"), "is not \"major\""],
      ["priority 0", (s: Manifest) => (s.spec.supportedModelFormats[1].priority = 0), "priority must be an integer >= 1"],
      ["a model format listed twice", (s: Manifest) => s.spec.supportedModelFormats.push({ name: "onnx", version: "1" }), "listed twice"],
      [
        "two priorities for one auto-selected format",
        (s: Manifest) => s.spec.supportedModelFormats.push({ name: "tserve", version: "2", autoSelect: true, priority: 2 }),
        "different priorities assigned for the model format tserve",
      ],
      ["PYTHONPATH in the container's env", (s: Manifest) => s.spec.containers[0].env.push({ name: "PYTHONPATH", value: "/x" }), "not allowed for security reasons"],
    ])("%s", (_what, mutate, mentions) => {
      const s = withDoc("ClusterServingRuntime");
      mutate(s);
      expect(servingRuntimeProblems(s).join("\n")).toContain(mentions);
    });
  });

  describe("SeldonDeployment structure", () => {
    it.each([
      ["a graph node without its container", (d: Manifest) => (d.spec.predictors[0].graph.children[0].name = "model-c"), "has no container named model-c"],
      ["a container that is no graph node", (d: Manifest) => d.spec.predictors[0].componentSpecs[0].spec.containers.push({ name: "extra", image: IMAGE }), "container extra is no graph node"],
      ["a node name used twice", (d: Manifest) => (d.spec.predictors[0].graph.children[1].name = "model-a"), "appears twice"],
      ["an INT parameter that is not an integer", (d: Manifest) => (d.spec.predictors[0].graph.parameters[0].value = "two"), "is not a INT"],
    ])("%s", (_what, mutate, mentions) => {
      const d = withDoc("SeldonDeployment");
      mutate(d);
      expect(seldonDeploymentProblems(d).join("\n")).toContain(mentions);
    });
  });
});
