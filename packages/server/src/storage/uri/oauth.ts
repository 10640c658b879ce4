/** The OAuth2 token exchange GCS (service accounts, refresh tokens) and Azure AD (service principals) share. */
import { StorageAccessDenied, statusError } from "./errors.ts";
import { withRetries } from "./retry.ts";
import { readText, send, type TransportOptions } from "./transport.ts";

export interface OAuthToken {
  value: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface TokenRequest {
  url: URL;
  /** The form fields POSTed as application/x-www-form-urlencoded. */
  form: Record<string, string>;
  /** Names the endpoint in error messages. */
  what: string;
  transport: TransportOptions;
  maxAttempts: number;
  signal?: AbortSignal;
  /** The provider's error fields as one reason string. */
  reasonOf: (body: Record<string, unknown>) => string;
  /** The message when the endpoint refuses (a 4xx, or no access_token). */
  denied: (status: number, reason: string) => string;
}

/** POSTs the form, retrying 5xx/429; a refusal is StorageAccessDenied. Tokens without expires_in last an hour. */
export function requestOAuthToken(r: TokenRequest): Promise<OAuthToken> {
  const body = new URLSearchParams(r.form).toString();
  return withRetries(
    async () => {
      const res = await send(
        { method: "POST", url: r.url, headers: { "content-type": "application/x-www-form-urlencoded" }, body, what: r.what },
        r.transport,
      );
      const text = await readText(res, 64 * 1024);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text);
      } catch {
        // handled below
      }
      if (res.status !== 200 || typeof json.access_token !== "string") {
        const reason = r.reasonOf(json);
        if (res.status >= 500 || res.status === 429) throw statusError(res.status, r.what, reason || undefined);
        throw new StorageAccessDenied(r.denied(res.status, reason));
      }
      const expiresIn = Number(json.expires_in ?? 3600);
      return { value: json.access_token, expiresAt: Date.now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 };
    },
    { maxAttempts: r.maxAttempts, signal: r.signal },
  );
}
