import { ModelBusy, TServeError } from "../errors/index.ts";

/**
 * The token of one running change of a model: whoever holds it may make further changes of the same model inside
 * that change (an upload's install loads the model) by handing it on. It is valid only while its change runs.
 */
export class ModelChange {
  /** @internal Only ModelMutations creates them. */
  constructor(
    readonly name: string,
    readonly action: string,
  ) {}
}

/**
 * One change of a model at a time: load, unload, an upload's swap-and-install and a repository poll's reload of
 * the same model name never overlap. A second change arriving while one runs is refused at once with ModelBusy
 * (409 / ABORTED) instead of waiting, so a client learns the model is being changed and no two changes ever see
 * each other's half-done work (a folder mid-swap, a version mid-unload).
 *
 * A change may call others on the same name (an upload's install loads the model): the task gets its change's
 * token and passes it on explicitly; a change given the token that holds the name runs inside it. (The token is
 * explicit rather than carried by AsyncLocalStorage, whose promise hooks cost every request on Node 20; see
 * faults.ts.)
 */
export class ModelMutations {
  /** Model name -> the change running on it (its action, "upload", "load" …, names it in the 409 message). */
  private readonly running = new Map<string, ModelChange>();

  /**
   * Runs `task` as the only change of `name`; throws ModelBusy when another change of it is running. Given
   * `within`, the token of the change that holds `name` now, `task` runs as part of that change instead; a token
   * of a change that has ended or is of another name is refused.
   */
  async run<T>(name: string, action: string, task: (change: ModelChange) => Promise<T>, within?: ModelChange): Promise<T> {
    const current = this.running.get(name);
    if (within !== undefined) {
      if (current === within) return task(within);
      if (current !== undefined) throw new ModelBusy(name, current.action, action);
      throw new TServeError(
        `Internal error: this ${action} of model ${name} was handed the token of ${within.name === name ? "a change that has ended" : `a change of model ${within.name}`}`,
        "INTERNAL",
        500,
        "TSERVE_STALE_MODEL_CHANGE",
      );
    }
    if (current !== undefined) throw new ModelBusy(name, current.action, action);
    const change = new ModelChange(name, action);
    this.running.set(name, change);
    try {
      return await task(change);
    } finally {
      this.running.delete(name);
    }
  }

  /** What is changing `name` right now, if anything. */
  busy(name: string): string | undefined {
    return this.running.get(name)?.action;
  }
}
