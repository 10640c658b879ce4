/**
 * Storage URIs, recognised in the KServe storage initializer's match order: local paths, then object stores,
 * then Azure, then the schemes tserve names but does not download, then any other http(s) URL.
 */
import { InvalidInput, Unsupported } from "../../errors/index.ts";

/** Where a model lives, as parsed from its storage URI. */
export type StorageLocation =
  | { kind: "local"; uri: string; path: string }
  | { kind: "s3"; uri: string; bucket: string; key: string }
  | { kind: "gcs"; uri: string; bucket: string; prefix: string }
  | {
      kind: "azure";
      uri: string;
      account: string;
      /** https://<account>.blob.core.windows.net (or the …blob.storage.azure.net DNS-zone form). */
      endpoint: string;
      container: string;
      prefix: string;
      /** A shared access signature carried in the URI's query (without the leading '?'), if any. */
      sas?: string;
    }
  | { kind: "http"; uri: string; url: URL; filename: string };

export type StorageKind = StorageLocation["kind"];

/** KServe leaves /mnt/models alone: a model agent (or a mounted volume) already put the model there. */
export const MODEL_MOUNT_DIR = "/mnt/models";

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const AZURE_BLOB = [/^https:\/\/([^./]+)\.blob\.core\.windows\.net\/(.+)$/i, /^https:\/\/([^./]+)\.z[0-9]{1,2}\.blob\.storage\.azure\.net\/(.+)$/i];
const AZURE_FILE = [/^https:\/\/([^./]+)\.file\.core\.windows\.net\/(.+)$/i, /^https:\/\/([^./]+)\.z[0-9]{1,2}\.file\.storage\.azure\.net\/(.+)$/i];

/** Schemes KServe knows but tserve does not download, each with what to do instead. */
const UNSUPPORTED: Record<string, string> = {
  hdfs: "HDFS (hdfs://) is not supported by tserve; copy the model to s3://, gs://, Azure Blob or an http(s) URL",
  webhdfs: "WebHDFS (webhdfs://) is not supported by tserve; copy the model to s3://, gs://, Azure Blob or an http(s) URL",
  hf: "Hugging Face Hub URIs (hf://) are not supported by tserve; download the model first (e.g. huggingface-cli download) and serve the folder",
  modelscope: "ModelScope URIs (modelscope://) are not supported by tserve; download the model first and serve the folder",
  oci: "OCI image URIs (oci://) are not supported by tserve; KServe mounts them with a modelcar sidecar — serve the mounted folder instead",
  pvc: "pvc:// URIs are mounted by the KServe webhook (under /mnt/pvc), not downloaded; serve the mounted path instead",
};

/**
 * Parses a storage URI. Throws InvalidInput for a malformed or unrecognised URI and Unsupported for schemes
 * KServe knows but tserve does not download (hf://, oci://, pvc://, hdfs://, git repositories, Azure Files).
 */
export function parseStorageUri(uri: string): StorageLocation {
  if (typeof uri !== "string" || uri.trim() === "") throw new InvalidInput("Storage URI is empty");
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();

  // 1. local path or file://
  if (scheme === undefined) return { kind: "local", uri, path: uri };
  if (scheme === "file") {
    const path = decodeURIComponentSafe(uri.slice("file://".length), uri);
    if (path === "") throw new InvalidInput(`No path in storage URI ${redactUri(uri)}`);
    return { kind: "local", uri, path };
  }

  // 2. object stores (and HDFS, which tserve does not download)
  if (scheme === "s3" || scheme === "gs") {
    const rest = uri.slice(scheme.length + 3);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? "" : rest.slice(slash + 1);
    if (bucket === "" || /[\s?#]/.test(bucket)) throw new InvalidInput(`No valid bucket name in storage URI ${redactUri(uri)}`);
    return scheme === "s3" ? { kind: "s3", uri, bucket, key } : { kind: "gcs", uri, bucket, prefix: key };
  }
  if (scheme === "hdfs" || scheme === "webhdfs") throw new Unsupported(`${UNSUPPORTED[scheme]} (${redactUri(uri)})`);

  // 3. Azure
  for (const re of AZURE_BLOB) {
    if (re.test(uri)) return parseAzureBlob(uri);
  }
  if (AZURE_FILE.some((re) => re.test(uri))) {
    throw new Unsupported(`Azure Files shares (file.core.windows.net) are not supported by tserve; use Azure Blob storage (blob.core.windows.net) instead (${redactUri(uri)})`);
  }

  // 4. registries and mounts tserve does not download
  if (scheme in UNSUPPORTED) throw new Unsupported(`${UNSUPPORTED[scheme]} (${redactUri(uri)})`);

  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InvalidInput(`Malformed storage URI ${redactUri(uri)}`);
    }
    // 5. git repositories
    if (url.pathname.endsWith(".git")) {
      throw new Unsupported(`Git repositories (${redactUri(uri)}) are not supported by tserve; clone the repository and serve the folder`);
    }
    // 6. any other http(s) URL: one file
    const filename = decodeURIComponentSafe(url.pathname.split("/").pop() ?? "", uri);
    if (filename === "" || filename === "." || filename === ".." || /[/\\\0]/.test(filename)) {
      throw new InvalidInput(`No filename in storage URI ${redactUri(uri)}: an http(s) URI must name one file`);
    }
    return { kind: "http", uri, url, filename };
  }
  throw new InvalidInput(
    `Cannot recognize storage type for ${redactUri(uri)}: use a local path, file://, s3://, gs://, ` +
      "https://<account>.blob.core.windows.net/… or an http(s):// URL",
  );
}

function parseAzureBlob(uri: string): StorageLocation {
  const url = new URL(uri);
  const [container, ...rest] = url.pathname.replace(/^\/+/, "").split("/");
  if (!container) throw new InvalidInput(`No container in Azure storage URI ${redactUri(uri)}`);
  const prefix = decodeURIComponentSafe(rest.join("/"), uri).replace(/^\/+|\/+$/g, "");
  return {
    kind: "azure",
    uri,
    account: url.hostname.split(".")[0],
    endpoint: `https://${url.host}`,
    container: decodeURIComponentSafe(container, uri),
    prefix,
    sas: url.search.length > 1 ? url.search.slice(1) : undefined,
  };
}

function decodeURIComponentSafe(s: string, uri: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new InvalidInput(`Malformed percent-encoding in storage URI ${redactUri(uri)}`);
  }
}

/**
 * True for a URI tserve downloads (or refuses by name): anything with a `scheme://` except `file://`.
 * Local paths and file:// URIs are served where they are; `downloadModel` also accepts them.
 */
export function isRemoteUri(s: string): boolean {
  const scheme = SCHEME.exec(s)?.[1]?.toLowerCase();
  return scheme !== undefined && scheme !== "file";
}

/** Query parameters that carry secrets (SAS signatures, presigned S3 URLs, tokens). */
const SECRET_PARAMS = /^(sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|token|access_token|api_key|apikey|key|password|secret|code)$/i;

/** The URI with passwords and signature/token query parameters replaced, for messages and markers. */
export function redactUri(uri: string): string {
  if (!/^https?:\/\//i.test(uri)) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri.replace(/\?.*$/, "?…");
  }
  if (url.password) url.password = "REDACTED";
  let changed = false;
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(name)) {
      url.searchParams.set(name, "REDACTED");
      changed = true;
    }
  }
  return changed || url.password ? url.toString() : uri;
}
