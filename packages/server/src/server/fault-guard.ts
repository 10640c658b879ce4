import { type FaultKind, type FaultScope, type ModelRepository, readableStack } from "../model/index.ts";
import type { Logger } from "./logger.ts";

/**
 * Process-level handlers that keep one model's stray error (a throw in its timer, a promise it left rejected)
 * from ending every model: the error is attributed to the model whose code it came from (the top frame of its stack
 * trace that lies in a loading or served model's folder; see model/faults.ts for why not an async context) and handed to that model's repository, which marks it UNAVAILABLE and reloads it.
 *
 * Errors that belong to no model are not swallowed: they are what Node's defaults are for. An uncaught exception
 * is logged and the process exits with code 1, as Node would; an unhandled rejection too, unless Node was started
 * with `--unhandled-rejections=warn|warn-with-error-code|none` (then it is logged and serving goes on). When the
 * process has handlers of its own for the event (an embedder's), they decide instead.
 */
interface Guarded {
  repository: ModelRepository;
  logger: Logger;
}

const guarded = new Set<Guarded>();

/** Installs the handlers for one server's repository (once per process for any number of servers); returns the removal. */
export function guardFaults(repository: ModelRepository, logger: Logger): () => void {
  const entry: Guarded = { repository, logger };
  if (guarded.size === 0) {
    process.on("uncaughtException", onUncaughtException);
    process.on("unhandledRejection", onUnhandledRejection);
  }
  guarded.add(entry);
  return () => {
    if (!guarded.delete(entry) || guarded.size > 0) return;
    process.off("uncaughtException", onUncaughtException);
    process.off("unhandledRejection", onUnhandledRejection);
  };
}

/** The model a stray error belongs to: the one whose folder holds the top model frame of its stack, among started servers'. */
export function attributeFault(err: unknown): FaultScope | undefined {
  const stack = err instanceof Error ? err.stack : undefined;
  if (!stack) return undefined;
  for (const g of guarded) {
    const found = g.repository.faultScopeForStack(stack);
    if (found) return found;
  }
  return undefined;
}

/** Hands an error to its model's repository; false when it belongs to no model. */
function handleModelFault(err: unknown, kind: FaultKind): boolean {
  const scope = attributeFault(err);
  if (!scope) return false;
  const owner = [...guarded].find((g) => g.repository === scope.owner);
  if (!owner) {
    // A model of a server that has stopped: nothing to mark, but it is still that model's error, not the process's.
    processLogger().log("error", `model ${scope.name} (no longer served): ${describeKind(kind)}: ${describe(err)}`);
    return true;
  }
  scope.owner.fault(scope, err, kind).catch((e: unknown) => {
    owner.logger.log("error", `handling a fault of model ${scope.name} failed: ${describe(e)}`);
  });
  return true;
}

function onUncaughtException(err: unknown, origin: string): void {
  const kind: FaultKind = origin === "unhandledRejection" ? "unhandledRejection" : "uncaughtException";
  if (handleModelFault(err, kind)) return;
  // Ours is not the only handler: the process's own ones decide, as they would without us.
  if (process.listenerCount("uncaughtException") > 1) return;
  processLogger().log("error", `${describeKind(kind)} outside any model; exiting as Node does: ${describe(err)}`);
  process.exit(1);
}

function onUnhandledRejection(reason: unknown): void {
  if (handleModelFault(reason, "unhandledRejection")) return;
  if (process.listenerCount("unhandledRejection") > 1) return;
  const mode = unhandledRejectionsMode();
  if (mode === "none") return;
  if (mode === "warn" || mode === "warn-with-error-code") {
    if (mode === "warn-with-error-code") process.exitCode = 1;
    processLogger().log("error", `unhandled promise rejection outside any model (--unhandled-rejections=${mode}: serving on): ${describe(reason)}`);
    return;
  }
  processLogger().log(
    "error",
    `unhandled promise rejection outside any model; exiting as Node does (start Node with --unhandled-rejections=warn to keep serving): ${describe(reason)}`,
  );
  process.exit(1);
}

/** Node's `--unhandled-rejections` mode from the command line or NODE_OPTIONS (default "throw"). */
export function unhandledRejectionsMode(execArgv: string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): string {
  const args = [...execArgv, ...nodeOptions.split(/\s+/)];
  let mode = "throw";
  for (let i = 0; i < args.length; i++) {
    const m = /^--unhandled-rejections(?:=(.*))?$/.exec(args[i]);
    if (m) mode = m[1] ?? args[++i] ?? mode;
  }
  return mode;
}

function processLogger(): Logger {
  const first = guarded.values().next().value;
  return first?.logger ?? { log: (level, message) => process.stderr.write(`${level.toUpperCase()} ${message}\n`) };
}

function describeKind(kind: FaultKind): string {
  return kind === "uncaughtException" ? "uncaught exception" : "unhandled promise rejection";
}

function describe(err: unknown): string {
  return err instanceof Error ? readableStack(err.stack ?? err.message) : String(err);
}
