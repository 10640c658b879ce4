/**
 * A Seldon component that never throws on its own: every method answers its input (or a constant), so any 5xx the
 * fuzz suite sees comes from tserve, not from this model.
 */
export default class SeldonTotal {
  predict(X: unknown): unknown {
    return X;
  }
  transformInput(X: unknown): unknown {
    return X;
  }
  transformOutput(X: unknown): unknown {
    return X;
  }
  route(): number {
    return 0;
  }
  aggregate(Xs: unknown[]): unknown {
    return Xs.length > 0 ? Xs[0] : [];
  }
  sendFeedback(): unknown[] {
    return [];
  }
  metrics(): unknown[] {
    return [];
  }
  tags(): Record<string, string> {
    return { fuzz: "yes" };
  }
}
