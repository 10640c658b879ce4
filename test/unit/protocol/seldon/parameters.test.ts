import { describe, expect, it } from "vitest";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import { parseSeldonParameters } from "../../../../packages/server/src/protocol/seldon/parameters.ts";

function badParameter(input: Parameters<typeof parseSeldonParameters>[0]): SeldonError {
  try {
    parseSeldonParameters(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    const e = err as SeldonError;
    expect(e.reason).toBe("MICROSERVICE_BAD_PARAMETER");
    expect(e.status).toBe(500);
    return e;
  }
  throw new Error(`expected parseSeldonParameters(${JSON.stringify(input)}) to throw`);
}

describe("parseSeldonParameters: --parameters to constructor arguments", () => {
  it("converts each type as Seldon does", () => {
    const args = parseSeldonParameters(
      JSON.stringify([
        { name: "count", value: "3", type: "INT" },
        { name: "negative", value: "-12", type: "INT" },
        { name: "ratio", value: "0.25", type: "FLOAT" },
        { name: "precise", value: "1e-3", type: "DOUBLE" },
        { name: "label", value: "hello world", type: "STRING" },
        { name: "on", value: "true", type: "BOOL" },
        { name: "off", value: "False", type: "BOOL" },
        { name: "one", value: "1", type: "BOOL" },
      ]),
    );
    expect(args).toEqual({
      count: 3,
      negative: -12,
      ratio: 0.25,
      precise: 0.001,
      label: "hello world",
      on: true,
      off: false,
      one: true,
    });
    expect(typeof args.count).toBe("number");
    expect(typeof args.on).toBe("boolean");
  });

  it("BOOL reads what Python's strtobool reads", () => {
    const values = ["y", "yes", "t", "TRUE", "on", "1", "n", "no", "f", "false", "OFF", "0"];
    const args = parseSeldonParameters(values.map((value, i) => ({ name: `b${i}`, value, type: "BOOL" })));
    expect(Object.values(args)).toEqual([true, true, true, true, true, true, false, false, false, false, false, false]);
  });

  it("accepts JSON-typed values, not only strings", () => {
    expect(
      parseSeldonParameters([
        { name: "n", value: 7, type: "INT" },
        { name: "x", value: 0.5, type: "FLOAT" },
        { name: "b", value: false, type: "BOOL" },
      ]),
    ).toEqual({ n: 7, x: 0.5, b: false });
  });

  it("a missing type means STRING, and type names are case-insensitive", () => {
    expect(parseSeldonParameters('[{"name":"path","value":"/models/a"}]')).toEqual({ path: "/models/a" });
    expect(parseSeldonParameters('[{"name":"n","value":"4","type":"int"}]')).toEqual({ n: 4 });
  });

  it("STRING keeps the text as it is, including leading zeros and spaces", () => {
    expect(parseSeldonParameters('[{"name":"id","value":" 007 ","type":"STRING"}]')).toEqual({ id: " 007 " });
  });

  it("nothing given is no arguments", () => {
    expect(parseSeldonParameters(undefined)).toEqual({});
    expect(parseSeldonParameters("")).toEqual({});
    expect(parseSeldonParameters("[]")).toEqual({});
  });

  it("a value that is not of its type is MICROSERVICE_BAD_PARAMETER naming the parameter", () => {
    expect(badParameter('[{"name":"count","value":"abc","type":"INT"}]').message).toMatch(/count.*"abc".*INT/);
    expect(badParameter('[{"name":"count","value":"1.5","type":"INT"}]').message).toMatch(/count/);
    expect(badParameter('[{"name":"ratio","value":"fast","type":"FLOAT"}]').message).toMatch(/ratio.*FLOAT/);
    expect(badParameter('[{"name":"ratio","value":"","type":"DOUBLE"}]').message).toMatch(/ratio.*DOUBLE/);
    expect(badParameter('[{"name":"on","value":"yes please","type":"BOOL"}]').message).toMatch(/on.*BOOL/);
  });

  it("an unknown type is MICROSERVICE_BAD_PARAMETER listing the known ones", () => {
    const err = badParameter('[{"name":"x","value":"1","type":"COMPLEX"}]');
    expect(err.message).toMatch(/unknown type "COMPLEX"/);
    expect(err.message).toMatch(/INT, FLOAT, DOUBLE, STRING or BOOL/);
  });

  it("bad JSON, a non-list and items without a name or value are MICROSERVICE_BAD_PARAMETER", () => {
    expect(badParameter('[{"name":"x",').message).toMatch(/not valid JSON/);
    expect(badParameter('{"name":"x","value":"1"}').message).toMatch(/must be a JSON list/);
    expect(badParameter('[{"value":"1","type":"INT"}]').message).toMatch(/needs a name and a value/);
    expect(badParameter('[{"name":"x","type":"INT"}]').message).toMatch(/needs a name and a value/);
    expect(badParameter('["x"]').message).toMatch(/needs a name and a value/);
  });
});
