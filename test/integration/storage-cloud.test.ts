/**
 * S3 paging, GCS and Azure Blob against local node:http servers pretending to be the services (reached through
 * AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST and AZURE_STORAGE_BLOB_ENDPOINT). Each fake checks the credentials the
 * way the service would: it recomputes SigV4 / Shared Key signatures from the request it received, and verifies
 * the service-account JWT with the key's public half.
 */
import { createVerify, generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFound } from "../../packages/server/src/errors/index.ts";
import { downloadModel, StorageAccessDenied } from "../../packages/server/src/storage/index.ts";
import { azureSharedKeyAuthorization, signV4 } from "../../packages/server/src/storage/uri/index.ts";

let root: string;
const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handler(req, res, body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function cacheDir(): Promise<string> {
  return mkdtemp(join(root, "cache-"));
}

async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listTree(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tserve-cloud-it-"));
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await rm(root, { recursive: true, force: true });
});

describe("S3 listing pages and retries (a fake S3 endpoint)", () => {
  const objects = new Map<string, string>([
    ["models/big/a.onnx", "A"],
    ["models/big/b & c.txt", "B&C"],
    ["models/big/sub/c.json", "{}"],
    ["models/big/sub/d.bin", "D"],
    ["models/big/e.txt", "E"],
  ]);
  const log: string[] = [];
  let failNextGet = true;
  let url: string;

  beforeAll(async () => {
    url = await serve((req, res) => {
      const u = new URL(req.url!, `http://${req.headers.host}`);
      // Recompute the signature from what arrived: the path and query we signed are the ones we sent.
      const auth = String(req.headers.authorization ?? "");
      const stamp = String(req.headers["x-amz-date"]);
      const date = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
      const expected = signV4(
        { method: req.method!, url: u, headers: { host: req.headers.host!, "x-amz-content-sha256": String(req.headers["x-amz-content-sha256"]) } },
        { region: "eu-west-1", service: "s3", credentials: { accessKeyId: "AK", secretAccessKey: "SK" }, date },
      );
      if (auth !== expected.authorization) {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end("<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>");
        return;
      }
      const [, bucket, ...rest] = u.pathname.split("/");
      const key = decodeURIComponent(rest.join("/"));
      log.push(`${req.method} ${u.pathname}${u.search}`);
      if (bucket !== "models") {
        res.writeHead(404, { "content-type": "application/xml" });
        res.end("<Error><Code>NoSuchBucket</Code></Error>");
        return;
      }
      if (key === "" && u.searchParams.get("list-type") === "2") {
        const prefix = u.searchParams.get("prefix") ?? "";
        const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        const start = Number(u.searchParams.get("continuation-token")?.replace("page-", "") ?? 0);
        const page = keys.slice(start, start + 2);
        const more = start + 2 < keys.length;
        res.writeHead(200, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>models</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
            page.map((k) => `<Contents><Key>${xmlEscape(k)}</Key><Size>${objects.get(k)!.length}</Size><ETag>&quot;${k.length}&quot;</ETag></Contents>`).join("") +
            `<IsTruncated>${more}</IsTruncated>${more ? `<NextContinuationToken>page-${start + 2}</NextContinuationToken>` : ""}</ListBucketResult>`,
        );
        return;
      }
      const body = objects.get(key);
      if (body === undefined) {
        res.writeHead(404, req.method === "HEAD" ? {} : { "content-type": "application/xml" });
        res.end(req.method === "HEAD" ? undefined : "<Error><Code>NoSuchKey</Code></Error>");
        return;
      }
      if (req.method === "GET" && failNextGet) {
        failNextGet = false;
        res.writeHead(503, { "content-type": "application/xml" });
        res.end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        return;
      }
      res.writeHead(200, { "content-type": "binary/octet-stream", "content-length": Buffer.byteLength(body), etag: `"${key.length}"` });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });

  it("follows continuation tokens, signs every request, and retries a 503", async () => {
    const env = { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK", AWS_REGION: "eu-west-1" };
    const dir = await downloadModel("s3://models/models/big", { cacheDir: await cacheDir(), env, concurrency: 1 });
    expect(await listTree(dir)).toEqual(["a.onnx", "b & c.txt", "e.txt", "sub/c.json", "sub/d.bin"]);
    expect(await readFile(join(dir, "b & c.txt"), "utf8")).toBe("B&C");
    const lists = log.filter((l) => l.includes("list-type=2"));
    expect(lists).toEqual([
      "GET /models?list-type=2&prefix=models%2Fbig%2F",
      "GET /models?list-type=2&prefix=models%2Fbig%2F&continuation-token=page-2",
      "GET /models?list-type=2&prefix=models%2Fbig%2F&continuation-token=page-4",
    ]);
    expect(log[0]).toBe("HEAD /models/models/big");
    expect(log.filter((l) => l === "GET /models/models/big/a.onnx")).toHaveLength(2); // 503, then the retry
    expect(log).toContain("GET /models/models/big/b%20%26%20c.txt");
  });

  it("a wrong secret is StorageAccessDenied with the service's code", async () => {
    const env = { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "WRONG", AWS_REGION: "eu-west-1" };
    const attempt = downloadModel("s3://models/models/big/", { cacheDir: await cacheDir(), env });
    await expect(attempt).rejects.toBeInstanceOf(StorageAccessDenied);
    await expect(attempt).rejects.toThrow(/SignatureDoesNotMatch/);
  });
});

describe("Google Cloud Storage (a fake JSON API via STORAGE_EMULATOR_HOST)", () => {
  const objects = new Map<string, string>([
    ["models/iris/model.onnx", "ONNX"],
    ["models/iris/1/model.onnx", "V1"],
    ["models/iris/config.json", "{}"],
    ["models/iris-other/x", "X"],
    ["single/model.onnx", "SINGLE"],
  ]);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  let endpoint: string;
  let keyFile: string;
  let tokenRequests = 0;
  const authSeen: string[] = [];

  beforeAll(async () => {
    endpoint = await serve((req, res, body) => {
      const u = new URL(req.url!, "http://x");
      if (req.method === "POST" && u.pathname === "/token") {
        tokenRequests++;
        const form = new URLSearchParams(body);
        const [h, c, s] = (form.get("assertion") ?? "").split(".");
        const valid =
          form.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer" &&
          createVerify("RSA-SHA256").update(`${h}.${c}`).verify(publicKey, Buffer.from(s ?? "", "base64url"));
        const claims = valid ? JSON.parse(Buffer.from(c, "base64url").toString()) : {};
        if (!valid || claims.iss !== "sa@test.iam.gserviceaccount.com" || !String(claims.scope).includes("devstorage.read_only")) {
          res.writeHead(400, { "content-type": "application/json" });
          res.end('{"error":"invalid_grant","error_description":"Invalid JWT Signature."}');
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"access_token":"ya29.from-jwt","expires_in":3599,"token_type":"Bearer"}');
        return;
      }
      authSeen.push(String(req.headers.authorization ?? ""));
      if (req.headers.authorization === "Bearer revoked") {
        res.writeHead(401, { "content-type": "application/json" });
        res.end('{"error":{"code":401,"message":"Invalid Credentials"}}');
        return;
      }
      const m = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(u.pathname);
      if (!m || m[1] !== "bucket") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":{"code":404,"message":"The specified bucket does not exist."}}');
        return;
      }
      if (m[2] === undefined) {
        const prefix = u.searchParams.get("prefix") ?? "";
        const names = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        const start = Number(u.searchParams.get("pageToken") ?? 0);
        const page = names.slice(start, start + 2);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            kind: "storage#objects",
            items: page.map((n) => ({ name: n, size: String(objects.get(n)!.length), etag: `e-${n.length}` })),
            ...(start + 2 < names.length ? { nextPageToken: String(start + 2) } : {}),
          }),
        );
        return;
      }
      const name = decodeURIComponent(m[2]);
      const data = objects.get(name);
      if (data === undefined) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":{"code":404,"message":"No such object"}}');
        return;
      }
      if (u.searchParams.get("alt") === "media") {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": data.length });
        res.end(data);
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ name, size: String(data.length), etag: `e-${name.length}` }));
      }
    });
    keyFile = join(root, "sa.json");
    await writeFile(
      keyFile,
      JSON.stringify({
        type: "service_account",
        client_email: "sa@test.iam.gserviceaccount.com",
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        private_key_id: "k1",
        token_uri: `${endpoint}/token`,
      }),
    );
  });

  it("downloads a prefix anonymously, page by page, without the sibling iris-other/", async () => {
    authSeen.length = 0;
    const dir = await downloadModel("gs://bucket/models/iris", { cacheDir: await cacheDir(), env: { STORAGE_EMULATOR_HOST: endpoint } });
    expect(await listTree(dir)).toEqual(["1/model.onnx", "config.json", "model.onnx"]);
    expect(await readFile(join(dir, "1/model.onnx"), "utf8")).toBe("V1");
    expect(authSeen.every((a) => a === "")).toBe(true);
  });

  it("downloads a single object with a bearer token from GOOGLE_OAUTH_ACCESS_TOKEN", async () => {
    authSeen.length = 0;
    const dir = await downloadModel("gs://bucket/single/model.onnx", {
      cacheDir: await cacheDir(),
      env: { STORAGE_EMULATOR_HOST: endpoint, GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.direct" },
    });
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect(await readFile(join(dir, "model.onnx"), "utf8")).toBe("SINGLE");
    expect(new Set(authSeen)).toEqual(new Set(["Bearer ya29.direct"]));
  });

  it("trades a service-account key (GOOGLE_APPLICATION_CREDENTIALS) for a token with a signed JWT, once", async () => {
    authSeen.length = 0;
    tokenRequests = 0;
    const dir = await downloadModel("gs://bucket/models/iris/", {
      cacheDir: await cacheDir(),
      env: { STORAGE_EMULATOR_HOST: endpoint, GOOGLE_APPLICATION_CREDENTIALS: keyFile },
    });
    expect(await listTree(dir)).toEqual(["1/model.onnx", "config.json", "model.onnx"]);
    expect(tokenRequests).toBe(1);
    expect(new Set(authSeen)).toEqual(new Set(["Bearer ya29.from-jwt"]));
  });

  it("missing objects are NotFound; refused credentials are StorageAccessDenied", async () => {
    const env = { STORAGE_EMULATOR_HOST: endpoint };
    await expect(downloadModel("gs://bucket/nothing/here", { cacheDir: await cacheDir(), env })).rejects.toBeInstanceOf(NotFound);
    await expect(downloadModel("gs://other-bucket/m", { cacheDir: await cacheDir(), env })).rejects.toBeInstanceOf(NotFound);
    const denied = downloadModel("gs://bucket/models/iris", { cacheDir: await cacheDir(), env: { ...env, GOOGLE_OAUTH_ACCESS_TOKEN: "revoked" } });
    await expect(denied).rejects.toBeInstanceOf(StorageAccessDenied);
    await expect(denied).rejects.toThrow(/gs:\/\/bucket\/models\/iris.*Invalid Credentials/);
  });
});

describe("Azure Blob storage (a fake Blob service via AZURE_STORAGE_BLOB_ENDPOINT)", () => {
  const accountKey = Buffer.from("fake-azure-account-key-for-tests").toString("base64");
  const blobs = new Map<string, string>([
    ["iris/model.onnx", "ONNX"],
    ["iris/v 1/model.onnx", "V1"],
    ["iris/settings.json", "{}"],
    ["iris-2/x", "X"],
    ["single/model.onnx", "SINGLE"],
  ]);
  let base: string;
  const seen: { method: string; path: string; auth: string }[] = [];

  beforeAll(async () => {
    base = await serve((req, res, body) => {
      const u = new URL(req.url!, `http://${req.headers.host}`);
      if (req.method === "POST" && u.pathname === "/tenant-1/oauth2/v2.0/token") {
        const form = new URLSearchParams(body);
        const ok =
          form.get("client_id") === "client-1" &&
          form.get("client_secret") === "secret-1" &&
          form.get("scope") === "https://storage.azure.com/.default" &&
          form.get("grant_type") === "client_credentials";
        res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
        res.end(ok ? '{"access_token":"aad-token","expires_in":3600}' : '{"error":"invalid_client"}');
        return;
      }
      const auth = String(req.headers.authorization ?? "");
      seen.push({ method: req.method!, path: u.pathname, auth });
      let authorized = false;
      if (auth.startsWith("SharedKey ")) {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (k.startsWith("x-ms-")) headers[k] = String(v);
        authorized = auth === azureSharedKeyAuthorization(req.method!, u, headers, "acct", accountKey);
      } else if (auth === "Bearer aad-token") {
        authorized = true;
      } else if (u.searchParams.get("sig") === "good") {
        authorized = true;
      }
      if (!authorized) {
        res.writeHead(403, { "content-type": "application/xml", "x-ms-error-code": "AuthenticationFailed" });
        res.end(req.method === "HEAD" ? undefined : "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>");
        return;
      }
      const [, account, container, ...rest] = u.pathname.split("/");
      if (account !== "acct" || container !== "models") {
        res.writeHead(404, { "content-type": "application/xml" });
        res.end("<Error><Code>ContainerNotFound</Code></Error>");
        return;
      }
      const blob = decodeURIComponent(rest.join("/"));
      if (blob === "" && u.searchParams.get("comp") === "list") {
        const prefix = u.searchParams.get("prefix") ?? "";
        const names = [...blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
        const start = Number(u.searchParams.get("marker") ?? 0);
        const page = names.slice(start, start + 2);
        res.writeHead(200, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="models"><Prefix>${xmlEscape(prefix)}</Prefix><Blobs>` +
            page.map((n) => `<Blob><Name>${xmlEscape(n)}</Name><Properties><Content-Length>${blobs.get(n)!.length}</Content-Length><Etag>0x${n.length}</Etag></Properties></Blob>`).join("") +
            `</Blobs><NextMarker>${start + 2 < names.length ? start + 2 : ""}</NextMarker></EnumerationResults>`,
        );
        return;
      }
      const data = blobs.get(blob);
      if (data === undefined) {
        res.writeHead(404, { "content-type": "application/xml", "x-ms-error-code": "BlobNotFound" });
        res.end(req.method === "HEAD" ? undefined : "<Error><Code>BlobNotFound</Code></Error>");
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": data.length, etag: `"0x${blob.length}"` });
      res.end(req.method === "HEAD" ? undefined : data);
    });
  });

  const env = () => ({ AZURE_STORAGE_BLOB_ENDPOINT: `${base}/acct` });

  it("downloads a prefix with a Shared Key (AZURE_STORAGE_ACCESS_KEY) the service verifies, page by page", async () => {
    seen.length = 0;
    const dir = await downloadModel("https://acct.blob.core.windows.net/models/iris", {
      cacheDir: await cacheDir(),
      env: { ...env(), AZURE_STORAGE_ACCESS_KEY: accountKey },
    });
    expect(await listTree(dir)).toEqual(["model.onnx", "settings.json", "v 1/model.onnx"]);
    expect(await readFile(join(dir, "v 1/model.onnx"), "utf8")).toBe("V1");
    expect(seen.every((s) => s.auth.startsWith("SharedKey acct:"))).toBe(true);
    expect(seen.filter((s) => s.method === "GET" && s.path === "/acct/models")).toHaveLength(2);
  });

  it("downloads a single blob with the SAS carried in the URI, and never names the signature in errors", async () => {
    const dir = await downloadModel("https://acct.blob.core.windows.net/models/single/model.onnx?sv=2021-08-06&sig=good", {
      cacheDir: await cacheDir(),
      env: env(),
    });
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    const denied = downloadModel("https://acct.blob.core.windows.net/models/iris?sv=2021-08-06&sig=SECRET-SIG", {
      cacheDir: await cacheDir(),
      env: env(),
    });
    await expect(denied).rejects.toBeInstanceOf(StorageAccessDenied);
    await denied.catch((err: Error) => {
      expect(err.message).toContain("AuthenticationFailed");
      expect(err.message).not.toContain("SECRET-SIG");
    });
  });

  it("uses a service principal's token (AZ_TENANT_ID / AZ_CLIENT_ID / AZ_CLIENT_SECRET)", async () => {
    seen.length = 0;
    const dir = await downloadModel("https://acct.blob.core.windows.net/models/iris", {
      cacheDir: await cacheDir(),
      env: { ...env(), AZURE_AUTHORITY_HOST: base, AZ_TENANT_ID: "tenant-1", AZ_CLIENT_ID: "client-1", AZ_CLIENT_SECRET: "secret-1" },
    });
    expect(await listTree(dir)).toEqual(["model.onnx", "settings.json", "v 1/model.onnx"]);
    expect(new Set(seen.map((s) => s.auth))).toEqual(new Set(["Bearer aad-token"]));
  });

  it("anonymous access to a private container is refused; a missing blob is NotFound", async () => {
    await expect(
      downloadModel("https://acct.blob.core.windows.net/models/iris", { cacheDir: await cacheDir(), env: env() }),
    ).rejects.toBeInstanceOf(StorageAccessDenied);
    await expect(
      downloadModel("https://acct.blob.core.windows.net/models/none", {
        cacheDir: await cacheDir(),
        env: { ...env(), AZURE_STORAGE_ACCESS_KEY: accountKey },
      }),
    ).rejects.toBeInstanceOf(NotFound);
  });
});
