import type { Model } from "./model.ts";
import { type FaultScope, scopeForStack } from "./faults.ts";

/**
 * The repository's record of which model a stray error can belong to (see faults.ts): the scopes of loads under
 * way, each loaded instance's scope, and per version folder the last instance that was READY.
 */
export class FaultScopes {
  /** Each loaded instance's scope. */
  private readonly scopes = new WeakMap<Model, FaultScope>();
  /** The scopes of the loads under way (import, constructor, load()); true for a reload after a fault. */
  private readonly loading = new Map<FaultScope, boolean>();
  /** Version folder -> the scope of the last instance from it that became READY, served or not any more. */
  private readonly lastReady = new Map<string, FaultScope>();
  /** Models being reloaded after a fault. */
  private readonly afterFault = new Set<string>();

  /** A load starts: a fault whose stack runs through its folder fails it (scope.failLoad). */
  beginLoad(scope: FaultScope): void {
    this.loading.set(scope, this.afterFault.has(scope.name));
  }

  /** The loader built the instance. */
  built(scope: FaultScope, model: Model): void {
    scope.model = model;
    this.scopes.set(model, scope);
  }

  /** The instance became READY. */
  ready(scope: FaultScope): void {
    if (scope.dir) this.lastReady.set(scope.dir, scope);
  }

  /** The load finished, one way or the other. */
  endLoad(scope: FaultScope): void {
    scope.failLoad = undefined;
    this.loading.delete(scope);
  }

  of(model: Model): FaultScope | undefined {
    return this.scopes.get(model);
  }

  /** Runs a reload after a fault; loads it starts rank last in forStack. */
  async reloadingAfterFault<T>(name: string, reload: () => Promise<T>): Promise<T> {
    this.afterFault.add(name);
    try {
      return await reload();
    } finally {
      this.afterFault.delete(name);
    }
  }

  /**
   * The model whose folder holds the top stack frame that belongs to any model's folder (see faults.ts for why the
   * stack, not an async context). Every instance loaded from a folder runs the same files, so when several could
   * have thrown, one is chosen, in this order:
   * 1. a load under way (an upload's or a reload's beside the served instance, or a first load): failing it keeps
   *    the old instance serving;
   * 2. the served instance: marked UNAVAILABLE and reloaded;
   * 3. the last instance that was READY (unloaded, or taken down by an earlier fault): only logged. A reload after a
   *    fault comes after it: the faulted instance's leftovers (timers, promises it started) are what is expected to
   *    go off meanwhile, and they must not fail the reload.
   */
  forStack(stack: string | undefined, served: Iterable<Model>): FaultScope | undefined {
    if (!stack) return undefined;
    const candidates: { dir: string; scope: FaultScope }[] = [];
    const add = (scope: FaultScope | undefined): void => {
      if (scope?.dir) candidates.push({ dir: scope.dir, scope });
    };
    for (const [scope, afterFault] of this.loading) if (!afterFault) add(scope);
    for (const model of served) add(this.scopes.get(model));
    for (const scope of this.lastReady.values()) add(scope);
    for (const [scope, afterFault] of this.loading) if (afterFault) add(scope);
    return scopeForStack(stack, candidates);
  }
}
