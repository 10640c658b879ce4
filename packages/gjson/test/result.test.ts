/** Result views and helpers, parse, valid, getMany, and the standalone formatters. */
import { describe, expect, it } from "vitest";
import {
  Result,
  get,
  getMany,
  matchPattern,
  parse,
  prettyJSON,
  uglyJSON,
  valid,
} from "../src/index.ts";
import { PEOPLE } from "./fixtures.ts";

describe("Result views", () => {
  it("strings: str is unescaped, raw keeps the quotes and escapes", () => {
    const r = get('{"s":"a\\"b\\u00e9"}', "s");
    expect(r.type).toBe("String");
    expect(r.raw).toBe('"a\\"b\\u00e9"');
    expect(r.str).toBe('a"bé');
    expect(r.num).toBe(0);
  });

  it("numbers: str is the raw text for integers, the shortest float text otherwise", () => {
    expect(get('{"n":9007199254740993}', "n").str).toBe("9007199254740993");
    expect(get('{"n":1e3}', "n").str).toBe("1000");
    expect(get('{"n":1.50}', "n").str).toBe("1.5");
    expect(get('{"n":-2.5e-3}', "n").num).toBe(-0.0025);
    expect(get('{"n":1e400}', "n").num).toBe(Infinity);
  });

  it("booleans: true/false and truthy strings and numbers", () => {
    expect(get("[true]", "0").bool).toBe(true);
    expect(get("[false]", "0").bool).toBe(false);
    expect(get('["TRUE"]', "0").bool).toBe(true);
    expect(get('["1"]', "0").bool).toBe(true);
    expect(get('["yes"]', "0").bool).toBe(false);
    expect(get("[2]", "0").bool).toBe(true);
    expect(get("[0]", "0").bool).toBe(false);
  });

  it("null exists; a missing value does not", () => {
    expect(get('{"a":null}', "a").exists).toBe(true);
    expect(get('{"a":null}', "a").type).toBe("Null");
    expect(get('{"a":null}', "b").exists).toBe(false);
  });

  it("float() reads numeric strings and true", () => {
    expect(get('["12.5"]', "0").float()).toBe(12.5);
    expect(get("[true]", "0").float()).toBe(1);
    expect(get("[7]", "0").float()).toBe(7);
  });
});

describe("Result helpers", () => {
  const friends = get(PEOPLE, "friends");

  it("get chains a further path", () => {
    expect(friends.get("1.first").str).toBe("Roger");
    expect(get(PEOPLE, "name").get("last").str).toBe("Anderson");
  });

  it("isArray / isObject", () => {
    expect(friends.isArray()).toBe(true);
    expect(friends.isObject()).toBe(false);
    expect(get(PEOPLE, "name").isObject()).toBe(true);
    expect(get(PEOPLE, "age").isArray()).toBe(false);
  });

  it("array lists elements, wraps a scalar, is empty for nothing", () => {
    expect(get(PEOPLE, "children").array().map((r) => r.str)).toEqual(["Sara", "Alex", "Jack"]);
    expect(get(PEOPLE, "age").array().map((r) => r.num)).toEqual([37]);
    expect(get(PEOPLE, "missing").array()).toEqual([]);
  });

  it("forEach visits members with string keys and elements with index keys, and can stop", () => {
    const seen: string[] = [];
    get(PEOPLE, "name").forEach((key, value) => {
      seen.push(`${key.str}=${value.str}`);
    });
    expect(seen).toEqual(["first=Tom", "last=Anderson"]);

    const indexes: number[] = [];
    get(PEOPLE, "children").forEach((key) => {
      indexes.push(key.num);
      return key.num < 1;
    });
    expect(indexes).toEqual([0, 1]);
  });

  it("map gives members by key", () => {
    const m = get(PEOPLE, "name").map();
    expect([...m.keys()]).toEqual(["first", "last"]);
    expect(m.get("last")!.str).toBe("Anderson");
    expect(get(PEOPLE, "children").map().size).toBe(0);
  });

  it("value gives plain JavaScript values", () => {
    expect(get(PEOPLE, "friends.0").value()).toEqual({ first: "Dale", last: "Murphy", age: 44, nets: ["ig", "fb", "tw"] });
    expect(get("[1,null,true,\"x\"]", "@this").value()).toEqual([1, null, true, "x"]);
    expect(get(PEOPLE, "missing").value()).toBeNull();
  });

  it("Result is a class with a non-existent default", () => {
    const empty = new Result();
    expect(empty.exists).toBe(false);
    expect(empty.str).toBe("");
  });
});

describe("getMany", () => {
  it("answers several paths at once", () => {
    const [first, age, missing] = getMany(PEOPLE, "name.first", "age", "nope");
    expect(first.str).toBe("Tom");
    expect(age.num).toBe(37);
    expect(missing.exists).toBe(false);
  });
});

describe("parse", () => {
  it("reads a document as one value", () => {
    expect(parse(' {"a":1} ').isObject()).toBe(true);
    expect(parse("42").num).toBe(42);
    expect(parse('"x"').str).toBe("x");
    expect(parse("true").type).toBe("True");
    expect(parse("garbage").exists).toBe(false);
    expect(parse("").exists).toBe(false);
  });
});

describe("valid", () => {
  it("accepts exactly one well-formed value", () => {
    for (const ok of ["0", "-1.5e3", '" x "', "true", " null ", '{"a":[1,{"b":"c"}]}', "[]"]) expect(valid(ok)).toBe(true);
  });

  it("rejects malformed JSON", () => {
    for (const bad of ["", "00", "-.1", "1.", "[1,]", '{"a":1,}', "{a:1}", '"\\x"', '"a\nb"', "[1] 2", "tru", "NaN"]) {
      expect(valid(bad)).toBe(false);
    }
  });
});

describe("prettyJSON and uglyJSON", () => {
  it("format and compact", () => {
    expect(prettyJSON('{"a":[1,2]}')).toBe('{\n  "a": [1, 2]\n}\n');
    expect(uglyJSON('{ "a" : [ 1 , 2 ] }')).toBe('{"a":[1,2]}');
  });
});

describe("matchPattern", () => {
  it("matches * and ? with \\ escapes", () => {
    expect(matchPattern("hello", "h*o")).toBe(true);
    expect(matchPattern("hello", "h?llo")).toBe(true);
    expect(matchPattern("h*llo", "h\\*llo")).toBe(true);
    expect(matchPattern("hello", "h\\*llo")).toBe(false);
    expect(matchPattern("", "*")).toBe(true);
    expect(matchPattern("abc", "a*d")).toBe(false);
  });
});
