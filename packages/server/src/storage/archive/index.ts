/** Archives: safe extraction of .tar/.tar.gz/.tgz/.zip, deterministic packing, and serving models from archives. */
export { type ArchiveInput, PACK_MTIME } from "./archive-input.ts";
export { codeKindOf, findCodeFiles } from "./code-files.ts";
export { crc32 } from "./crc32.ts";
export { safeEntryPath } from "./entry-path.ts";
export { extractArchive, extractArchiveAs, type ExtractResult, modelFolderIn } from "./extract.ts";
export { type ArchiveFormat, detectArchiveFormat, formatOfName, isArchivePath } from "./format.ts";
export { createUploadWorkDir, type InstallOptions, installModelFolder, recoverUploads, UPLOAD_AREA } from "./install.ts";
export { DEFAULT_EXTRACT_LIMITS, DEFAULT_MAX_UPLOAD_SIZE, type ExtractLimits, resolveExtractLimits } from "./limits.ts";
export { cacheRoot, type PrepareModelOptions, prepareModelPath } from "./model-cache.ts";
export { listForPacking, type PackedEntry, type PackResult, packDirectory } from "./pack.ts";
export { encodeTarHeader, paxRecord, type TarHeaderFields } from "./tar-format.ts";
export { tarChunks, tarHeaders, type TarWriteOptions } from "./tar-writer.ts";
export { zipChunks, type ZipWriteOptions } from "./zip-writer.ts";
