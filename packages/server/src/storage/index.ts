/** Storage: model URIs (file, http(s), s3, gs, azure) and archives. */

// archives: extraction, packing, serving from .tar.gz/.tgz/.zip, upload staging
export * from "./archive/index.ts";

// storage URIs: parse, download into a local (cached) model folder, progress
export {
  type DownloadOptions,
  type DownloadMarker,
  defaultCacheDir,
  downloadInto,
  downloadModel,
  isRemoteUri,
  parseStorageUri,
  type ProgressCallback,
  type ProgressEvent,
  redactUri,
  StorageAccessDenied,
  type StorageKind,
  type StorageLocation,
  terminalProgress,
} from "./uri/index.ts";
