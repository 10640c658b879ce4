import { type NDArray, SeldonError, type SeldonMetric } from "../../packages/server/src/index.ts";

/** The node's `parameters` in the SeldonDeployment, typed by tserve (INT and FLOAT become numbers). */
export interface EpsilonGreedyParameters {
  /** How many children the router chooses between. */
  n_branches?: number;
  /** The share of requests sent to a branch other than the best one, to keep learning (default 0.1). */
  epsilon?: number;
  /** Makes the choices repeatable; without it every start explores differently. */
  seed?: number;
}

/** mulberry32: a tiny seeded generator of numbers in [0, 1), so a run can be replayed exactly. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An epsilon-greedy multi-armed bandit as a Seldon ROUTER, after Seldon's own EpsilonGreedy component. It sends each
 * request to the branch with the best mean reward so far, except with probability epsilon, when it tries one of the
 * others. Feedback credits the branch the request went to (`routing`) with the reward. Branch 0 is the best until a
 * reward says otherwise; ties go to the lower index.
 */
export default class EpsilonGreedy {
  readonly nBranches: number;
  readonly epsilon: number;
  private readonly random: () => number;
  /** Per branch: the sum of rewards, and how many rows (flowers) were rewarded. */
  private readonly rewardSums: number[];
  private readonly rewardCounts: number[];
  private best = 0;
  private last?: { branch: number; explored: boolean };
  /** Routing decisions not yet reported as metrics, by "branch/decision". */
  private readonly unreported = new Map<string, number>();

  constructor({ n_branches, epsilon = 0.1, seed }: EpsilonGreedyParameters = {}) {
    if (n_branches === undefined || !Number.isInteger(n_branches) || n_branches < 1) {
      throw new Error(`parameter n_branches must be the number of children (an INT of at least 1), got ${n_branches}`);
    }
    if (typeof epsilon !== "number" || !(epsilon >= 0 && epsilon <= 1)) {
      throw new Error(`parameter epsilon must be a FLOAT from 0 to 1, got ${epsilon}`);
    }
    this.nBranches = n_branches;
    this.epsilon = epsilon;
    this.random = seed === undefined ? Math.random : seeded(seed);
    this.rewardSums = new Array<number>(n_branches).fill(0);
    this.rewardCounts = new Array<number>(n_branches).fill(0);
  }

  /** The mean reward of each branch so far (0 for a branch nobody rated yet). */
  values(): number[] {
    return this.rewardSums.map((sum, i) => (this.rewardCounts[i] === 0 ? 0 : sum / this.rewardCounts[i]));
  }

  route(_X: NDArray, _names: string[]): number {
    let branch = this.best;
    const explored = this.nBranches > 1 && this.random() < this.epsilon;
    if (explored) {
      // Any branch but the best one, uniformly.
      const other = Math.floor(this.random() * (this.nBranches - 1));
      branch = other >= this.best ? other + 1 : other;
    }
    this.last = { branch, explored };
    const key = `${branch}/${explored ? "explore" : "exploit"}`;
    this.unreported.set(key, (this.unreported.get(key) ?? 0) + 1);
    return branch;
  }

  sendFeedback(features: NDArray, _names: string[], reward: number, _truth: unknown, routing: number | undefined): [] {
    if (routing === undefined || routing === null) {
      throw new SeldonError('Feedback for the bandit needs the prediction\'s response with its meta.routing (which branch answered)', 400);
    }
    if (!Number.isInteger(routing) || routing < 0 || routing >= this.nBranches) return []; // -1 / -2: no single branch to credit
    // A request of several rows counts as that many tries, each with the same reward, as in Seldon's EpsilonGreedy.
    const rows = features.ndim >= 2 ? Math.max(features.shape[0], 1) : 1;
    this.rewardSums[routing] += reward * rows;
    this.rewardCounts[routing] += rows;
    const values = this.values();
    this.best = values.indexOf(Math.max(...values));
    return [];
  }

  /** Per-branch mean reward (GAUGE) and routing decisions since the last call (COUNTER), each tagged with its branch. */
  metrics(): SeldonMetric[] {
    const metrics: SeldonMetric[] = this.values().map((value, branch) => ({
      type: "GAUGE",
      key: "bandit_branch_value",
      value,
      tags: { branch: String(branch) },
    }));
    for (const [key, value] of this.unreported) {
      const [branch, decision] = key.split("/");
      metrics.push({ type: "COUNTER", key: "bandit_routes", value, tags: { branch, decision } });
    }
    this.unreported.clear();
    return metrics;
  }

  /** The latest routing decision, added to the answer's meta.tags. */
  tags(): Record<string, unknown> {
    return this.last ? { branch: this.last.branch, explored: this.last.explored } : {};
  }
}
