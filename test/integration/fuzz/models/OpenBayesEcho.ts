/** An OpenBayes predictor that never throws on its own: it answers what it was given, parsed. */
export default class OpenBayesEcho {
  predict({ json, params }: { json: unknown; params: Record<string, string> }): unknown {
    return { json: json ?? null, params };
  }
}
