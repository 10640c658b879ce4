import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { PermissionDenied, type TServeError, Unauthenticated } from "../errors/index.ts";
import { sendError } from "./errors.ts";
import { firstHeader } from "./rest.ts";

/**
 * Triton's model control modes. `none`: the API changes nothing (load, unload and upload answer 403). `explicit`:
 * load, unload and upload are allowed, behind the admin token when one is set. `poll`: the repository folder is
 * re-read every `--repository_poll_secs` and alone decides what is served, so the API changes nothing either.
 */
export const MODEL_CONTROL_MODES = ["none", "explicit", "poll"] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];

/** The repository changes a client can ask for. */
export type ModelControlAction = "load" | "unload" | "upload";

export function isModelControlMode(value: string): value is ModelControlMode {
  return (MODEL_CONTROL_MODES as readonly string[]).includes(value);
}

/** `explicit` when an admin token guards the API, `none` otherwise: no change is ever open to anyone by default. */
export function defaultModelControlMode(adminToken: string | undefined): ModelControlMode {
  return adminToken ? "explicit" : "none";
}

/** A missing or wrong bearer token; REST answers it with this `WWW-Authenticate` challenge. */
class AdminTokenRejected extends Unauthenticated {
  readonly challenge: string;
  constructor(message: string, presented: boolean) {
    super(message);
    this.challenge = presented ? 'Bearer realm="tserve", error="invalid_token"' : 'Bearer realm="tserve"';
  }
}

/** Compares a presented token with the configured one in time independent of where they differ. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The one check every repository change goes through, REST and gRPC alike: first the mode (403 / PERMISSION_DENIED
 * when it refuses the action, whoever asks), then the admin token (401 / UNAUTHENTICATED when missing or wrong).
 */
export class ModelControl {
  readonly mode: ModelControlMode;
  private readonly adminToken?: string;

  constructor(options: { mode?: ModelControlMode; adminToken?: string } = {}) {
    this.adminToken = options.adminToken || undefined;
    this.mode = options.mode ?? defaultModelControlMode(this.adminToken);
  }

  /** True when `explicit` mode runs without a token: anyone who reaches the port may load and unload. */
  get openToAnyone(): boolean {
    return this.mode === "explicit" && !this.adminToken;
  }

  /** Throws PermissionDenied or Unauthenticated unless the caller may perform `action`. */
  authorize(action: ModelControlAction, authorization: string | undefined): void {
    if (this.mode === "none") {
      throw new PermissionDenied(
        `Model ${action} is disabled: this server runs with --model_control_mode none (the default without an admin token), so models cannot be loaded, unloaded or uploaded through the API. Start it with --model_control_mode explicit and an admin token (TSERVE_ADMIN_TOKEN or --admin_token_file) to allow it.`,
      );
    }
    if (this.mode === "poll") {
      throw new PermissionDenied(
        `Model ${action} is refused: this server runs with --model_control_mode poll, where the repository folder alone decides what is served; add, change or remove model folders in --model_repository instead.`,
      );
    }
    if (!this.adminToken) {
      // Loading and unloading what is already on disk may be opened on purpose; writing new files never is.
      if (action === "upload") {
        throw new PermissionDenied(
          "Model uploads are disabled: they need an admin token; start tserve with TSERVE_ADMIN_TOKEN or --admin_token_file (--admin_token).",
        );
      }
      return;
    }
    const match = /^Bearer\s+(.+)$/i.exec((authorization ?? "").trim());
    if (!match) {
      throw new AdminTokenRejected(
        `Model ${action} needs the admin token: send an 'Authorization: Bearer <admin token>' header (gRPC: 'authorization' metadata).`,
        false,
      );
    }
    if (!tokenMatches(match[1], this.adminToken)) throw new AdminTokenRejected("The admin token is not valid.", true);
  }

  /** A Fastify onRequest hook for a route that performs `action`; runs before the body is read. */
  restHook(action: ModelControlAction): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
    return async (request, reply) => {
      try {
        this.authorize(action, firstHeader(request.headers.authorization));
      } catch (err) {
        if (err instanceof AdminTokenRejected) reply.header("www-authenticate", err.challenge);
        return sendError(reply, err as TServeError);
      }
      return undefined;
    };
  }
}
