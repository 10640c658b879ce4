import { describe, expect, it } from "vitest";
import { ModelControl } from "../../../packages/server/src/server/index.ts";

const TOKEN = "unit-token";

/** The status authorize() refuses with, or 200 when it lets the call through. */
function outcome(control: ModelControl, action: "load" | "unload" | "upload", authorization?: string): number {
  try {
    control.authorize(action, authorization);
    return 200;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

describe("ModelControl", () => {
  it("defaults to explicit with an admin token and none without", () => {
    expect(new ModelControl({ adminToken: TOKEN }).mode).toBe("explicit");
    expect(new ModelControl({}).mode).toBe("none");
    expect(new ModelControl({ adminToken: "" }).mode).toBe("none");
  });

  it("none and poll refuse every action with 403, token or not", () => {
    for (const mode of ["none", "poll"] as const) {
      const control = new ModelControl({ mode, adminToken: TOKEN });
      for (const action of ["load", "unload", "upload"] as const) {
        expect(outcome(control, action, `Bearer ${TOKEN}`)).toBe(403);
        expect(outcome(control, action)).toBe(403);
      }
    }
  });

  it("explicit with a token: 401 without it, with another scheme or a wrong one; allowed with it", () => {
    const control = new ModelControl({ mode: "explicit", adminToken: TOKEN });
    for (const action of ["load", "unload", "upload"] as const) {
      expect(outcome(control, action)).toBe(401);
      expect(outcome(control, action, TOKEN)).toBe(401);
      expect(outcome(control, action, `Basic ${TOKEN}`)).toBe(401);
      expect(outcome(control, action, `Bearer ${TOKEN}x`)).toBe(401);
      expect(outcome(control, action, `bearer  ${TOKEN} `)).toBe(200);
    }
  });

  it("explicit without a token: load and unload are open, upload never is", () => {
    const control = new ModelControl({ mode: "explicit" });
    expect(control.openToAnyone).toBe(true);
    expect(outcome(control, "load")).toBe(200);
    expect(outcome(control, "unload")).toBe(200);
    expect(outcome(control, "upload")).toBe(403);
  });
});
