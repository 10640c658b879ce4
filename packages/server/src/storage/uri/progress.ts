/** Download progress: the events downloadModel reports, and a one-line terminal progress bar for them. */

export interface ProgressEvent {
  /** The file's path inside the model folder ("" on the final "done" event). */
  file: string;
  /** Bytes of `file` received so far (on "done": of every file). */
  bytes: number;
  /** The file's size, when the store told it (on "done": of every file). */
  total?: number;
  /** "file": bytes arrived; "extract": `file`, an archive, is being unpacked; "done": the whole download finished. */
  stage: "file" | "extract" | "done";
}

export type ProgressCallback = (event: ProgressEvent) => void;

interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${UNITS[u]}`;
}

/**
 * A progress callback drawing one self-overwriting line — percent, bytes, rate — on `stream`, only when it is a
 * TTY; otherwise it prints nothing (logs stay clean in containers). Files downloading in parallel are summed.
 */
export function terminalProgress(stream: Writable = process.stderr): ProgressCallback {
  if (!stream.isTTY) return () => {};
  const files = new Map<string, { bytes: number; total?: number }>();
  let started = 0;
  let lastDraw = 0;
  let current = "";

  const draw = (line: string, end = false) => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r${line.length > width ? `${line.slice(0, width - 1)}…` : line}\x1b[K${end ? "\n" : ""}`);
  };

  return (event) => {
    const now = Date.now();
    if (started === 0) started = now;
    if (event.stage === "extract") {
      draw(`extracting ${event.file}…`);
      return;
    }
    if (event.stage === "file") {
      files.set(event.file, { bytes: event.bytes, total: event.total });
      current = event.file;
      // At most ten redraws a second, plus each file's last chunk.
      if (now - lastDraw < 100 && event.bytes !== event.total) return;
    }
    lastDraw = now;
    let bytes = 0;
    let total = 0;
    let known = true;
    for (const f of files.values()) {
      bytes += f.bytes;
      if (f.total === undefined) known = false;
      else total += f.total;
    }
    if (event.stage === "done") {
      bytes = event.bytes;
      total = event.total ?? bytes;
      known = true;
    }
    const seconds = Math.max((now - started) / 1000, 0.001);
    const rate = `${formatBytes(bytes / seconds)}/s`;
    let line: string;
    if (known && total > 0) {
      const fraction = Math.min(1, bytes / total);
      const filled = Math.round(fraction * 20);
      line = `[${"#".repeat(filled)}${".".repeat(20 - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(bytes)}/${formatBytes(total)} ${rate}`;
    } else {
      line = `${formatBytes(bytes)} ${rate}`;
    }
    const label = event.stage === "done" ? `${files.size} file${files.size === 1 ? "" : "s"}` : current;
    draw(`${line}  ${label}`, event.stage === "done");
  };
}
