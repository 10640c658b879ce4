import { createHmac, createVerify, generateKeyPairSync } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInput, NotFound, Unsupported } from "../../../packages/server/src/errors/index.ts";
import {
  acceptedContentType,
  downloadInto,
  downloadModel,
  azureSharedKeyAuthorization,
  azureStringToSign,
  azureUrl,
  effectiveEnv,
  fnmatch,
  gcsEndpoint,
  gcsListUrl,
  gcsObjectUrl,
  hostHeaders,
  isRemoteUri,
  modelFolderName,
  parsePatternList,
  parseStorageUri,
  redactUri,
  s3SettingsFromEnv,
  s3Url,
  serviceAccountJwt,
  terminalProgress,
} from "../../../packages/server/src/storage/uri/index.ts";
import { passesFilter } from "../../../packages/server/src/storage/uri/patterns.ts";
import { safeRelativePath } from "../../../packages/server/src/storage/uri/backend.ts";
import { decodeXmlText, xmlBlocks, xmlText } from "../../../packages/server/src/storage/uri/xml.ts";

describe("parseStorageUri", () => {
  it("local paths and file:// are returned as paths", () => {
    expect(parseStorageUri("./models/iris")).toEqual({ kind: "local", uri: "./models/iris", path: "./models/iris" });
    expect(parseStorageUri("/mnt/models")).toMatchObject({ kind: "local", path: "/mnt/models" });
    expect(parseStorageUri("file:///tmp/my%20model")).toMatchObject({ kind: "local", path: "/tmp/my model" });
  });

  it("s3:// and gs:// split into bucket and key/prefix", () => {
    expect(parseStorageUri("s3://models/iris/v1")).toEqual({ kind: "s3", uri: "s3://models/iris/v1", bucket: "models", key: "iris/v1" });
    expect(parseStorageUri("s3://models")).toMatchObject({ kind: "s3", bucket: "models", key: "" });
    expect(parseStorageUri("s3://models/iris/")).toMatchObject({ key: "iris/" });
    expect(parseStorageUri("gs://kfserving-examples/models/sklearn/1.0/model")).toMatchObject({
      kind: "gcs",
      bucket: "kfserving-examples",
      prefix: "models/sklearn/1.0/model",
    });
    expect(() => parseStorageUri("s3:///key")).toThrow(InvalidInput);
  });

  it("Azure Blob URIs name the account, container and prefix; a SAS query is kept", () => {
    const loc = parseStorageUri("https://acct.blob.core.windows.net/models/iris/v1/?sv=2021&sig=SECRET");
    expect(loc).toMatchObject({
      kind: "azure",
      account: "acct",
      endpoint: "https://acct.blob.core.windows.net",
      container: "models",
      prefix: "iris/v1",
      sas: "sv=2021&sig=SECRET",
    });
    expect(parseStorageUri("https://acct.z12.blob.storage.azure.net/c/p")).toMatchObject({ kind: "azure", account: "acct", container: "c", prefix: "p" });
    expect(parseStorageUri("https://acct.blob.core.windows.net/c")).toMatchObject({ container: "c", prefix: "" });
  });

  it("refuses schemes KServe knows but tserve does not download, naming them", () => {
    for (const [uri, name] of [
      ["https://acct.file.core.windows.net/share/model", "Azure Files"],
      ["hf://meta-llama/Llama-2-7b", "hf://"],
      ["oci://registry/model:1", "oci://"],
      ["pvc://claim/model", "pvc://"],
      ["hdfs://nn/user/model", "hdfs://"],
      ["webhdfs://nn/user/model", "webhdfs://"],
      ["https://github.com/org/model.git", "Git"],
    ]) {
      const err = (() => {
        try {
          parseStorageUri(uri);
        } catch (e) {
          return e as Error;
        }
        throw new Error(`${uri} parsed`);
      })();
      expect(err, uri).toBeInstanceOf(Unsupported);
      expect(err.message, uri).toContain(name);
    }
  });

  it("any other http(s) URL is one file, named by its last path segment", () => {
    const loc = parseStorageUri("https://example.com/files/model.tar.gz?token=abc");
    expect(loc).toMatchObject({ kind: "http", filename: "model.tar.gz" });
    expect(() => parseStorageUri("https://example.com/")).toThrow(/No filename/);
    expect(() => parseStorageUri("https://example.com/x/..%2F..%2Fetc%2Fpasswd")).toThrow(InvalidInput);
    expect(parseStorageUri("https://example.com/x/my%20model.onnx")).toMatchObject({ filename: "my model.onnx" });
    expect(() => parseStorageUri("ftp://example.com/model.onnx")).toThrow(/Cannot recognize storage type/);
    expect(() => parseStorageUri("")).toThrow(InvalidInput);
  });

  it("isRemoteUri is true for every scheme but file://", () => {
    expect(isRemoteUri("s3://b/k")).toBe(true);
    expect(isRemoteUri("gs://b/k")).toBe(true);
    expect(isRemoteUri("https://h/x.onnx")).toBe(true);
    expect(isRemoteUri("hf://a/b")).toBe(true);
    expect(isRemoteUri("file:///tmp/x")).toBe(false);
    expect(isRemoteUri("./models/iris")).toBe(false);
    expect(isRemoteUri("/mnt/models")).toBe(false);
  });

  it("redactUri hides signatures, tokens and passwords", () => {
    expect(redactUri("https://acct.blob.core.windows.net/c/p?sv=2021&sig=SECRET")).not.toContain("SECRET");
    expect(redactUri("https://user:pw@example.com/m.onnx")).not.toContain("pw@");
    expect(redactUri("https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AKIA")).not.toMatch(/abc|AKIA/);
    expect(redactUri("s3://b/k")).toBe("s3://b/k");
    expect(redactUri("https://example.com/m.onnx?v=2")).toBe("https://example.com/m.onnx?v=2");
  });

  it("modelFolderName comes from the URI's last segment", () => {
    expect(modelFolderName(parseStorageUri("s3://models/iris"), false)).toBe("iris");
    expect(modelFolderName(parseStorageUri("s3://models/iris/"), false)).toBe("iris");
    expect(modelFolderName(parseStorageUri("s3://models"), false)).toBe("models");
    expect(modelFolderName(parseStorageUri("gs://b/m/iris.tar.gz"), true)).toBe("iris");
    expect(modelFolderName(parseStorageUri("https://h/x/model.onnx"), true)).toBe("model");
    expect(modelFolderName(parseStorageUri("s3://b/v1.2"), false)).toBe("v1.2");
  });
});

describe("patterns (fnmatch)", () => {
  it("matches like Python's fnmatch: * crosses /, ?, [seq], [!seq]", () => {
    expect(fnmatch("model.onnx", "*.onnx")).toBe(true);
    expect(fnmatch("sub/model.onnx", "*.onnx")).toBe(true);
    expect(fnmatch("model.onnx.bak", "*.onnx")).toBe(false);
    expect(fnmatch("a1.bin", "a?.bin")).toBe(true);
    expect(fnmatch("a1.bin", "a[0-9].bin")).toBe(true);
    expect(fnmatch("ax.bin", "a[!0-9].bin")).toBe(true);
    expect(fnmatch("a1.bin", "a[!0-9].bin")).toBe(false);
    expect(fnmatch("docs/readme.md", "docs/")).toBe(true);
    expect(fnmatch("a(b).txt", "a(b).txt")).toBe(true);
  });

  it("lists are JSON or comma-separated", () => {
    expect(parsePatternList('["*.safetensors", "config.json"]', "X")).toEqual(["*.safetensors", "config.json"]);
    expect(parsePatternList("*.bin, *.gguf", "X")).toEqual(["*.bin", "*.gguf"]);
    expect(parsePatternList("", "X")).toEqual([]);
    expect(() => parsePatternList("[1,2]", "X")).toThrow(InvalidInput);
  });

  it("allow keeps only matches, ignore drops matches", () => {
    expect(passesFilter("model.onnx", { allow: ["*.onnx"], ignore: [] })).toBe(true);
    expect(passesFilter("notes.txt", { allow: ["*.onnx"], ignore: [] })).toBe(false);
    expect(passesFilter("model.onnx", { allow: [], ignore: ["*.onnx"] })).toBe(false);
    expect(passesFilter("x", { allow: [], ignore: [] })).toBe(true);
  });

  it("object names cannot escape the model folder", () => {
    expect(safeRelativePath("a//b/c.onnx", "s3://b")).toBe("a/b/c.onnx");
    expect(() => safeRelativePath("../etc/passwd", "s3://b")).toThrow(InvalidInput);
    expect(() => safeRelativePath("a/./b", "s3://b")).toThrow(InvalidInput);
    expect(() => safeRelativePath("a\\..\\b", "s3://b")).toThrow(InvalidInput);
  });
});

describe("STORAGE_CONFIG", () => {
  it("maps a type:s3 secret onto the AWS_* variables, the override winning", () => {
    const env = effectiveEnv({
      AWS_ACCESS_KEY_ID: "from-env",
      STORAGE_CONFIG: JSON.stringify({
        type: "s3",
        access_key_id: "AK",
        secret_access_key: "SK",
        endpoint_url: "http://minio:9000",
        region: "eu-west-1",
        verify_ssl: "0",
        anonymous: false,
      }),
      STORAGE_OVERRIDE_CONFIG: JSON.stringify({ region: "eu-central-1" }),
    });
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: "AK",
      AWS_SECRET_ACCESS_KEY: "SK",
      AWS_ENDPOINT_URL: "http://minio:9000",
      AWS_DEFAULT_REGION: "eu-central-1",
      S3_VERIFY_SSL: "0",
      awsAnonymousCredential: "false",
    });
  });

  it("leaves the environment alone for other types, and refuses bad JSON without echoing it", () => {
    const env = { STORAGE_CONFIG: '{"type":"gcs"}', AWS_REGION: "x" };
    expect(effectiveEnv(env)).toBe(env);
    expect(() => effectiveEnv({ STORAGE_CONFIG: '{"secret_access_key": "TOPSECRET"' })).toThrow(/^STORAGE_CONFIG is not valid JSON$/);
  });
});

describe("S3 settings and URLs", () => {
  it("defaults: us-east-1, AWS endpoints, virtual-hosted for DNS-safe buckets, anonymous without keys", () => {
    const s = s3SettingsFromEnv({});
    expect(s).toMatchObject({ region: "us-east-1", virtualHosted: false, rejectUnauthorized: true, maxAttempts: 3 });
    expect(s.credentials).toBeUndefined();
    expect(s.connectTimeoutMs).toBe(15_000);
    expect(s.readTimeoutMs).toBe(30_000);
    expect(s3Url(s, "models", "iris/model.onnx").toString()).toBe("https://models.s3.us-east-1.amazonaws.com/iris/model.onnx");
    expect(s3Url(s, "my.dotted.bucket", "k").toString()).toBe("https://s3.us-east-1.amazonaws.com/my.dotted.bucket/k");
    expect(
      s3Url(s, "models", "", [
        ["list-type", "2"],
        ["prefix", "iris/"],
      ]).toString(),
    ).toBe("https://models.s3.us-east-1.amazonaws.com/?list-type=2&prefix=iris%2F");
  });

  it("custom endpoints use path style unless S3_USE_VIRTUAL_BUCKET", () => {
    const env = {
      AWS_ENDPOINT_URL: "http://minio.local:9000",
      AWS_ACCESS_KEY_ID: "AK",
      AWS_SECRET_ACCESS_KEY: "SK",
      AWS_SESSION_TOKEN: "T",
      AWS_REGION: "eu-west-1",
      S3_VERIFY_SSL: "0",
      S3_CONNECT_TIMEOUT: "2",
      S3_READ_TIMEOUT: "5",
      S3_MAX_ATTEMPTS: "7",
    };
    const s = s3SettingsFromEnv(env);
    expect(s).toMatchObject({ region: "eu-west-1", rejectUnauthorized: false, connectTimeoutMs: 2000, readTimeoutMs: 5000, maxAttempts: 7 });
    expect(s.credentials).toEqual({ accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "T" });
    expect(s3Url(s, "models", "a b/c").toString()).toBe("http://minio.local:9000/models/a%20b/c");
    const v = s3SettingsFromEnv({ ...env, S3_USE_VIRTUAL_BUCKET: "true" });
    expect(s3Url(v, "models", "k").toString()).toBe("http://models.minio.local:9000/k");
    expect(s3SettingsFromEnv({ ...env, awsAnonymousCredential: "true" }).credentials).toBeUndefined();
    expect(s3SettingsFromEnv({ AWS_DEFAULT_REGION: "ap-south-1", AWS_REGION: "x" }).region).toBe("ap-south-1");
  });

  it("S3_ENDPOINT without a scheme follows S3_USE_HTTPS", () => {
    expect(s3SettingsFromEnv({ S3_ENDPOINT: "minio:9000", S3_USE_HTTPS: "0" }).endpoint?.toString()).toBe("http://minio:9000/");
    expect(s3SettingsFromEnv({ S3_ENDPOINT: "minio:9000" }).endpoint?.toString()).toBe("https://minio:9000/");
    expect(() => s3SettingsFromEnv({ AWS_ENDPOINT_URL: "ftp://x" })).toThrow(/AWS_ENDPOINT_URL/);
  });
});

describe("GCS URLs and service-account JWTs", () => {
  it("uses the JSON API, or STORAGE_EMULATOR_HOST", () => {
    expect(gcsEndpoint({})).toBe("https://storage.googleapis.com");
    expect(gcsEndpoint({ STORAGE_EMULATOR_HOST: "localhost:4443" })).toBe("http://localhost:4443");
    expect(gcsEndpoint({ STORAGE_EMULATOR_HOST: "https://gcs.test/" })).toBe("https://gcs.test");
    expect(gcsObjectUrl("https://storage.googleapis.com", "b", "models/iris/model.onnx", [["alt", "media"]]).toString()).toBe(
      "https://storage.googleapis.com/storage/v1/b/b/o/models%2Firis%2Fmodel.onnx?alt=media",
    );
    expect(gcsListUrl("https://storage.googleapis.com", "b", "models/iris/", "tok").toString()).toBe(
      "https://storage.googleapis.com/storage/v1/b/b/o?prefix=models%2Firis%2F&pageToken=tok",
    );
  });

  it("signs an RS256 JWT bearer assertion the public key verifies", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const jwt = serviceAccountJwt(
      { client_email: "sa@p.iam.gserviceaccount.com", private_key: pem, private_key_id: "kid1", token_uri: "https://oauth2.googleapis.com/token" },
      "https://www.googleapis.com/auth/devstorage.read_only",
      1_700_000_000,
    );
    const [h, c, s] = jwt.split(".");
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ alg: "RS256", typ: "JWT", kid: "kid1" });
    expect(JSON.parse(Buffer.from(c, "base64url").toString())).toEqual({
      iss: "sa@p.iam.gserviceaccount.com",
      scope: "https://www.googleapis.com/auth/devstorage.read_only",
      aud: "https://oauth2.googleapis.com/token",
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    expect(createVerify("RSA-SHA256").update(`${h}.${c}`).verify(publicKey, Buffer.from(s, "base64url"))).toBe(true);
  });
});

describe("Azure Blob URLs and Shared Key signing", () => {
  const key = Buffer.from("azure-test-key-0123456789").toString("base64");

  it("builds blob and list URLs, appending a SAS", () => {
    expect(azureUrl("https://acct.blob.core.windows.net", "models", "iris/model 1.onnx").toString()).toBe(
      "https://acct.blob.core.windows.net/models/iris/model%201.onnx",
    );
    expect(
      azureUrl("http://127.0.0.1:10000/devstoreaccount1", "models", "", [
        ["restype", "container"],
        ["comp", "list"],
        ["prefix", "iris/"],
      ], "sv=2021&sig=abc").toString(),
    ).toBe("http://127.0.0.1:10000/devstoreaccount1/models?restype=container&comp=list&prefix=iris%2F&sv=2021&sig=abc");
  });

  it("builds the string-to-sign of the Blob service (2015-02-21+ rules)", () => {
    const url = new URL("https://acct.blob.core.windows.net/models?restype=container&comp=list&prefix=iris%2F&marker=m2");
    const headers = { "x-ms-version": "2021-08-06", "x-ms-date": "Fri, 26 Jun 2015 23:39:12 GMT", "Content-Length": "0" };
    const expected = [
      "GET",
      "", // Content-Encoding
      "", // Content-Language
      "", // Content-Length (0 → empty)
      "", // Content-MD5
      "", // Content-Type
      "", // Date
      "", // If-Modified-Since
      "", // If-Match
      "", // If-None-Match
      "", // If-Unmodified-Since
      "", // Range
      "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT",
      "x-ms-version:2021-08-06",
      "/acct/models\ncomp:list\nmarker:m2\nprefix:iris/\nrestype:container",
    ].join("\n");
    expect(azureStringToSign("GET", url, headers, "acct")).toBe(expected);
    const signature = createHmac("sha256", Buffer.from(key, "base64")).update(expected, "utf8").digest("base64");
    expect(azureSharedKeyAuthorization("GET", url, headers, "acct", key)).toBe(`SharedKey acct:${signature}`);
  });

  it("signs a blob's encoded path and Range, and the emulator's account-in-path form", () => {
    const url = new URL("http://127.0.0.1:10000/devstoreaccount1/models/iris/model%201.onnx");
    const sts = azureStringToSign("GET", url, { "x-ms-date": "d", "x-ms-version": "v", range: "bytes=0-9" }, "devstoreaccount1");
    const lines = sts.split("\n");
    expect(lines[11]).toBe("bytes=0-9");
    expect(lines[lines.length - 1]).toBe("/devstoreaccount1/devstoreaccount1/models/iris/model%201.onnx");
  });
});

describe("plain HTTP rules", () => {
  it("reads <hostname>-headers as JSON, naming the variable (not the value) when it is broken", () => {
    expect(hostHeaders({ "example.com-headers": '{"Authorization": "Bearer x", "X-N": 1}' }, "example.com")).toEqual({
      authorization: "Bearer x",
      "x-n": "1",
    });
    expect(hostHeaders({}, "example.com")).toEqual({});
    expect(() => hostHeaders({ "example.com-headers": "{Bearer SECRET" }, "example.com")).toThrow(/^Environment variable example.com-headers is not valid JSON$/);
  });

  it("accepts octet-stream and archive content types only", () => {
    expect(acceptedContentType("application/octet-stream")).toBe(true);
    expect(acceptedContentType("binary/octet-stream")).toBe(true);
    expect(acceptedContentType("application/gzip")).toBe(true);
    expect(acceptedContentType("application/x-tar")).toBe(true);
    expect(acceptedContentType("application/zip; charset=binary")).toBe(true);
    expect(acceptedContentType("text/html; charset=utf-8")).toBe(false);
    expect(acceptedContentType(undefined)).toBe(false);
  });
});

describe("XML helpers", () => {
  it("reads flat elements and decodes entities and CDATA", () => {
    const xml = "<R><Contents><Key>a&amp;b &lt;1&gt;</Key></Contents><Contents><Key><![CDATA[x<y]]></Key></Contents><Marker/></R>";
    expect(xmlBlocks(xml, "Contents").map((b) => xmlText(b, "Key"))).toEqual(["a&b <1>", "x<y"]);
    expect(xmlText(xml, "Marker")).toBe("");
    expect(xmlText(xml, "Absent")).toBeUndefined();
    expect(decodeXmlText("&#65;&#x42;&quot;")).toBe('AB"');
  });
});

describe("terminalProgress", () => {
  it("prints nothing when the stream is not a TTY", () => {
    const out: string[] = [];
    const cb = terminalProgress({ write: (s: string) => out.push(s), isTTY: false });
    cb({ file: "a", bytes: 10, total: 10, stage: "file" });
    cb({ file: "", bytes: 10, total: 10, stage: "done" });
    expect(out).toEqual([]);
  });

  it("draws one overwritten line with percent, bytes and rate on a TTY, ending with a newline", () => {
    const out: string[] = [];
    const cb = terminalProgress({ write: (s: string) => out.push(s), isTTY: true, columns: 120 });
    cb({ file: "model.onnx", bytes: 512, total: 1024, stage: "file" });
    cb({ file: "model.onnx", bytes: 1024, total: 1024, stage: "file" });
    cb({ file: "", bytes: 1024, total: 1024, stage: "done" });
    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(out.every((s) => s.startsWith("\r"))).toBe(true);
    expect(out[0]).toMatch(/50%/);
    expect(out[0]).toContain("512 B/1.0 KiB");
    expect(out[0]).toMatch(/\/s/);
    expect(out.at(-1)).toMatch(/100%.*\n$/);
    expect(out.slice(0, -1).join("")).not.toContain("\n");
  });
});

describe("local sources", () => {
  it("downloadModel returns local paths and file:// paths as they are; /mnt/models is never checked", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tserve-local-"));
    try {
      expect(await downloadModel(dir)).toBe(dir);
      expect(await downloadModel(`file://${dir}`)).toBe(dir);
      expect(await downloadModel("/mnt/models")).toBe("/mnt/models");
      await expect(downloadModel(join(dir, "absent"))).rejects.toBeInstanceOf(NotFound);
      await expect(downloadModel("hf://org/model")).rejects.toBeInstanceOf(Unsupported);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("downloadInto symlinks a local folder's entries into the destination, as KServe does", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tserve-local-"));
    try {
      const src = join(dir, "src");
      await mkdir(join(src, "1"), { recursive: true });
      await writeFile(join(src, "model.onnx"), "x");
      const dest = join(dir, "dest");
      expect(await downloadInto(src, dest)).toBe(dest);
      expect((await readdir(dest)).sort()).toEqual(["1", "model.onnx"]);
      expect((await lstat(join(dest, "model.onnx"))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(dest, "model.onnx"))).toBe(join(src, "model.onnx"));
      // Again: existing links are left alone.
      expect(await downloadInto(`file://${src}`, dest)).toBe(dest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
