/**
 * /docs in a real browser: Debian's chromium (headless, through playwright-core) opens Swagger UI on a real
 * `tserve serve --enable_docs_url` serving iris, runs iris's V1 predict with "Try it out" → "Execute" and sees the
 * probabilities; every request the page makes stays on 127.0.0.1 (the page works offline). Skipped without chromium
 * (CI: `apt-get install -y chromium`).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type RunningCli, startCli, stopCli } from "../helpers/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe.skipIf(!hasChromium)("Swagger UI on /docs in chromium", () => {
  let cli: RunningCli;
  let profile: string;
  beforeAll(async () => {
    cli = await startCli(["serve", "--model_repository", "examples/iris/models", "--enable_docs_url", "--enable_grpc", "false"], await freePort());
    profile = await mkdtemp(join(tmpdir(), "tserve-chromium-"));
  }, 60_000);
  afterAll(async () => {
    if (cli) await stopCli(cli.child);
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("runs iris's V1 predict from the page, offline", async () => {
    const { chromium } = await import("playwright-core");
    // A persistent context is how Playwright takes a --user-data-dir: a fresh one per run.
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const requested: string[] = [];
    context.on("request", (r) => requested.push(r.url()));
    try {
      const page = await context.newPage();
      await page.goto(`${cli.url}/docs`);
      const operation = page.locator("#operations-KServe_V1-v1_predict_iris");
      await operation.locator(".opblock-summary").first().click({ timeout: 20_000 });
      await operation.getByRole("button", { name: "Try it out" }).click();
      // The ready-to-run example from iris's metadata is in the body editor.
      await expect.poll(async () => operation.locator("textarea.body-param__text").inputValue()).toContain("instances");
      await operation.getByRole("button", { name: "Execute" }).click();
      const body = operation.locator(".live-responses-table .response-col_description .microlight").first();
      await body.waitFor({ timeout: 20_000 });
      const text = await body.innerText();
      const answer = JSON.parse(text) as { predictions: number[][] };
      expect(answer.predictions[0]).toHaveLength(3);
      expect(answer.predictions[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(await operation.locator(".live-responses-table tbody .response-col_status").first().innerText()).toContain("200");
    } finally {
      await context.close();
    }
    const foreign = requested.filter((u) => !/^(data:|blob:|http:\/\/127\.0\.0\.1:\d+\/)/.test(u));
    expect(foreign).toEqual([]);
    expect(requested).toContain(`${cli.url}/openapi.json`);
  }, 90_000);
});
