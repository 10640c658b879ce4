/**
 * Storage URIs: parse them, download what they name into a local (cached) model folder, show progress.
 *
 * - parseStorageUri(uri) recognises, in KServe's storage-initializer order: a local path or file:// (/mnt/models
 *   untouched), s3://, gs://, Azure Blob (https://<account>.blob.core.windows.net/<container>/<prefix>), then
 *   refuses by name Azure Files, hf://, modelscope://, oci://, pvc://, hdfs://, webhdfs:// and *.git (Unsupported),
 *   then treats any other http(s) URL as one file.
 * - downloadModel(uri, options) caches under <cacheDir>/<sha256(uri)>/ (a download.json marker beside the model
 *   folder, which is named after the URI's last segment); downloadInto(uri, dir) writes into a given folder.
 *   A prefix downloads every object under it (STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS filter it);
 *   one object is saved by its name; a lone .tar/.tar.gz/.tgz/.zip is unpacked and removed.
 * - Settings come from the environment (see `tserve pull --help` for the list); STORAGE_CONFIG /
 *   STORAGE_OVERRIDE_CONFIG (a KServe storage secret, type "s3") map onto the AWS_* variables.
 * - Errors: InvalidInput (bad URI or settings), NotFound (404, nothing under a prefix), StorageAccessDenied
 *   (401/403), BadGateway (5xx, refused content type, connection failures), UpstreamTimeout; 5xx, 429, resets and
 *   timeouts are retried with backoff. Messages name the URI with signatures and tokens redacted.
 */
export { azureSharedKeyAuthorization, azureStringToSign, azureUrl } from "./azure.ts";
export { effectiveEnv } from "./config.ts";
export {
  cacheFolderFor,
  defaultCacheDir,
  type DownloadMarker,
  type DownloadOptions,
  downloadInto,
  downloadModel,
  MARKER_FILE,
  modelFolderName,
} from "./download.ts";
export { StorageAccessDenied } from "./errors.ts";
export type { FetchOptions } from "./fetch.ts";
export { gcsEndpoint, gcsListUrl, gcsObjectUrl, type ServiceAccountKey, serviceAccountJwt } from "./gcs.ts";
export { acceptedContentType, hostHeaders } from "./http.ts";
export { isRemoteUri, MODEL_MOUNT_DIR, parseStorageUri, redactUri, type StorageKind, type StorageLocation } from "./parse.ts";
export { fnmatch, parsePatternList } from "./patterns.ts";
export { formatBytes, type ProgressCallback, type ProgressEvent, terminalProgress } from "./progress.ts";
export { type S3Settings, s3SettingsFromEnv, s3Url } from "./s3.ts";
export { type AwsCredentials, type SignedRequest, type SigV4Params, type SigV4Request, signV4 } from "./sigv4.ts";
