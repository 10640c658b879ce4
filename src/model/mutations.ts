import { AsyncLocalStorage } from "node:async_hooks";
import { ModelBusy } from "../errors/index.ts";

/**
 * One change of a model at a time: load, unload, an upload's swap-and-install and a repository poll's reload of
 * the same model name never overlap. A second change arriving while one runs is refused at once with ModelBusy
 * (409 / ABORTED) instead of waiting, so a client learns the model is being changed and no two changes ever see
 * each other's half-done work (a folder mid-swap, a version mid-unload).
 *
 * A change may call others on the same name (an upload's install loads the model): those run inside it, since
 * the name is already held by the same chain of calls.
 */
export class ModelMutations {
  /** Model name -> what is changing it ("an upload", "a load" …), for the 409 message. */
  private readonly running = new Map<string, string>();
  private readonly held = new AsyncLocalStorage<ReadonlySet<string>>();

  /** Runs `task` as the only change of `name`; throws ModelBusy when another change of it is running. */
  async run<T>(name: string, action: string, task: () => Promise<T>): Promise<T> {
    const held = this.held.getStore();
    if (held?.has(name)) return task();
    const current = this.running.get(name);
    if (current !== undefined) throw new ModelBusy(name, current, action);
    this.running.set(name, action);
    try {
      return await this.held.run(new Set([...(held ?? []), name]), task);
    } finally {
      this.running.delete(name);
    }
  }

  /** What is changing `name` right now, if anything. */
  busy(name: string): string | undefined {
    return this.running.get(name);
  }
}
