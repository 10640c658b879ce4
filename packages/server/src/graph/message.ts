/** What flows between steps: a status and the raw body, as KServe's router passes bytes. */
export interface StepMessage {
  status: number;
  body: Buffer;
}

export function isSuccess(m: StepMessage): boolean {
  return m.status >= 200 && m.status < 300;
}

export function jsonMessage(status: number, value: unknown): StepMessage {
  return { status, body: Buffer.from(JSON.stringify(value)) };
}

/** The router's own failures, in KServe's body: `{"error": "Failed to process request", "cause": …}`. */
export function routerError(status: number, cause: string): StepMessage {
  return jsonMessage(status, { error: "Failed to process request", cause });
}

/** Parses a body as JSON; undefined when it is not JSON. */
export function tryJson(body: Buffer): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Resolves to `onTimeout()` if `work` has not answered within `ms`; the timer never outlives the race. */
export function withTimeout(work: Promise<StepMessage>, ms: number, onTimeout: () => StepMessage): Promise<StepMessage> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<StepMessage>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
