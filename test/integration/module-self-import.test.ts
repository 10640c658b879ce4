/**
 * Model files import the server by name, "tserve" or "@tserve/server", from anywhere: a bare folder with no
 * node_modules near it, a folder whose node_modules holds another copy (the running server's still wins, so there is
 * one Model class), TypeScript or plain ESM JavaScript, and on worker threads (instanceCount).
 * The CLI's resolve hooks (packages/server/src/runtime/module/resolve-tserve.mjs) make it so.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import { ROOT } from "./util.ts";

/** The entry the CLI runs from in a checkout: a model's Model must be this module's. */
const ENTRY = pathToFileURL(join(ROOT, "packages", "server", "src", "index.ts")).href;

function scaleModel(specifier: string, factor: string, typed = true): string {
  const types = typed ? ": { instances: number[][] }" : "";
  const row = typed ? "(row: number[])" : "(row)";
  return `import { Model } from "${specifier}";
import * as server from "${ENTRY}";
${factor.startsWith("factor") ? 'import { factor } from "./helper.ts";\n' : ""}
export default class Scale extends Model {
  async load() {
    this.ready = true;
  }
  predict(payload${types}) {
    return { predictions: payload.instances.map(${row} => row.map((v${typed ? ": number" : ""}) => v * ${factor})), sameModelClass: Model === server.Model };
  }
}
`;
}

async function predict(url: string, model: string): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${url}/v1/models/${model}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ instances: [[1, 2]] }),
  });
  return { status: r.status, json: await r.json() };
}

describe('model files importing "tserve" / "@tserve/server"', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tserve-self-import-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("load from a bare folder: TypeScript with a helper module, plain ESM JavaScript, and on worker threads", async () => {
    const repo = join(dir, "repo");
    for (const name of ["ts", "js", "threads"]) await mkdir(join(repo, name), { recursive: true });
    await writeFile(join(repo, "ts", "model.ts"), scaleModel("@tserve/server", "factor"));
    await writeFile(join(repo, "ts", "helper.ts"), "export const factor: number = 2;\n");
    await writeFile(join(repo, "js", "model.js"), scaleModel("tserve", "3", false));
    await writeFile(join(repo, "threads", "model.ts"), scaleModel("tserve", "4"));
    await writeFile(join(repo, "threads", "model-settings.json"), JSON.stringify({ instanceCount: 2 }));

    const port = await freePort();
    const { child, url, output } = await startCli(["serve", "--model-repository", repo], port);
    try {
      expect(await predict(url, "ts"), output()).toEqual({ status: 200, json: { predictions: [[2, 4]], sameModelClass: true } });
      expect(await predict(url, "js"), output()).toEqual({ status: 200, json: { predictions: [[3, 6]], sameModelClass: true } });
      expect(await predict(url, "threads"), output()).toEqual({ status: 200, json: { predictions: [[4, 8]], sameModelClass: true } });
    } finally {
      await stopCli(child);
    }
  });

  it("get the running server even where node_modules holds another package by those names", async () => {
    const app = join(dir, "app");
    for (const name of ["tserve", "@tserve/server"]) {
      const decoy = join(app, "node_modules", name);
      await mkdir(decoy, { recursive: true });
      await writeFile(join(decoy, "package.json"), JSON.stringify({ name, version: "9.9.9", type: "module", exports: "./index.js" }));
      await writeFile(join(decoy, "index.js"), "export class Model { constructor() { throw new Error('the decoy was loaded'); } }\n");
    }
    await writeFile(
      join(app, "model.ts"),
      `import { Model } from "tserve";
import * as byPackage from "@tserve/server";
import * as server from "${ENTRY}";

export default class Scale extends Model {
  async load() {
    this.ready = true;
  }
  predict(payload: { instances: number[][] }) {
    return { predictions: payload.instances.map((row) => row.map((v) => v * 5)), sameModelClass: Model === server.Model && byPackage.Model === server.Model };
  }
}
`,
    );

    const port = await freePort();
    const { child, url, output } = await startCli(["serve", join(app, "model.ts"), "--model_name", "decoyed"], port);
    try {
      expect(await predict(url, "decoyed"), output()).toEqual({ status: 200, json: { predictions: [[5, 10]], sameModelClass: true } });
    } finally {
      await stopCli(child);
    }
  });
});
