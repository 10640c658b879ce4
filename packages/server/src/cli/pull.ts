/**
 * `tserve pull SRC DST [SRC DST …]`: KServe's storage initializer (an init container). Downloads each URI (and
 * unpacks a lone archive) into its folder, prints each model folder on stdout, exits 1 on any failure.
 */
import { downloadInto, type ProgressCallback, redactUri, terminalProgress } from "../storage/index.ts";
import { HELP_FLAG, suggest } from "./args.ts";

export const PULL_USAGE = `Usage: tserve pull SRC_URI DEST_DIR [SRC_URI DEST_DIR …]

Downloads models into folders, as KServe's storage initializer does (use it as an init container):
  s3://bucket/prefix, gs://bucket/prefix, https://<account>.blob.core.windows.net/<container>/<prefix>,
  any other http(s) URL naming one file, or a local path / file:// (symlinked in).
A prefix downloads every object under it (paths kept); a lone .tar, .tar.gz/.tgz or .zip is unpacked and removed.
Prints each model folder on stdout; exits 1 if any download fails.

Environment:
  S3     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION/AWS_REGION,
         AWS_ENDPOINT_URL/S3_ENDPOINT (path-style; S3_USE_VIRTUAL_BUCKET=true for virtual hosts), S3_VERIFY_SSL=0,
         AWS_CA_BUNDLE, awsAnonymousCredential=true, S3_CONNECT_TIMEOUT, S3_READ_TIMEOUT, S3_MAX_ATTEMPTS,
         STORAGE_CONFIG / STORAGE_OVERRIDE_CONFIG (a KServe storage secret's JSON, type "s3")
  GCS    GOOGLE_OAUTH_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS (service-account key), STORAGE_EMULATOR_HOST
  Azure  a SAS in the URI, AZURE_STORAGE_ACCESS_KEY, AZ_TENANT_ID/AZ_CLIENT_ID/AZ_CLIENT_SECRET,
         AZURE_STORAGE_BLOB_ENDPOINT
  http   <hostname>-headers (JSON object of headers sent to that host)
  all    STORAGE_ALLOW_PATTERNS, STORAGE_IGNORE_PATTERNS (fnmatch patterns, JSON list or comma-separated)`;

/** Runs `tserve pull`; resolves to the process exit code (0 done, 1 a download failed, 2 bad usage). */
export async function pull(argv: string[]): Promise<number> {
  if (argv.some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(`${PULL_USAGE}\n`);
    return 0;
  }
  const option = argv.find((a) => a.startsWith("--"));
  if (option !== undefined) {
    const given = option.slice(2).split("=")[0];
    const near = suggest(given, HELP_FLAG);
    process.stderr.write(`tserve pull: Unknown option --${given}${near ? `; did you mean ${near}?` : ""}\n${PULL_USAGE}\n`);
    return 2;
  }
  if (argv.length < 2 || argv.length % 2 !== 0) {
    process.stderr.write(`tserve pull: expected SRC_URI DEST_DIR pairs\n${PULL_USAGE}\n`);
    return 2;
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i < argv.length; i += 2) pairs.push([argv[i], argv[i + 1]]);

  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => controller.abort(Object.assign(new Error(`Interrupted by ${signal}`), { name: "AbortError" }));
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) process.once(s, stop);
  // One bar for one download; parallel downloads would fight over the line.
  const progress: ProgressCallback | undefined = pairs.length === 1 ? terminalProgress(process.stderr) : undefined;

  try {
    const results = await Promise.allSettled(
      pairs.map(async ([src, dest]) => {
        const started = Date.now();
        const dir = await downloadInto(src, dest, { progress, signal: controller.signal });
        process.stderr.write(`tserve pull: copied ${redactUri(src)} to ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        process.stdout.write(`${dir}\n`);
      }),
    );
    let failed = false;
    for (const [i, r] of results.entries()) {
      if (r.status === "rejected") {
        failed = true;
        const message = r.reason instanceof Error ? r.reason.message : String(r.reason);
        process.stderr.write(`tserve pull: failed to download ${redactUri(pairs[i][0])}: ${message}\n`);
      }
    }
    return failed ? 1 : 0;
  } finally {
    for (const s of signals) process.removeListener(s, stop);
  }
}
