/** Modifiers, one describe per modifier, with their arguments; then custom modifiers. */
import { afterEach, describe, expect, it } from "vitest";
import {
  EXTRA_MODIFIERS,
  addModifier,
  get,
  modifierExists,
  removeModifier,
} from "../src/index.ts";
import { PEOPLE } from "./fixtures.ts";

const raw = (json: string, path: string) => get(json, path).raw;

describe("@reverse", () => {
  it("reverses arrays", () => {
    expect(raw(PEOPLE, "children|@reverse")).toBe('["Jack","Alex","Sara"]');
    expect(get(PEOPLE, "children|@reverse|0").str).toBe("Jack");
    expect(get(PEOPLE, "children.@reverse.0").str).toBe("Jack");
  });

  it("reverses object members", () => {
    expect(raw('{"a":1,"b":[2,3]}', "@reverse")).toBe('{"b":[2,3],"a":1}');
  });

  it("leaves scalars alone", () => {
    expect(raw("-4.5", "@reverse")).toBe("-4.5");
  });
});

describe("@ugly", () => {
  it("removes insignificant whitespace, keeping strings intact", () => {
    expect(raw('{ "a" : [ 1, 2 ], "b": "x y" }', "@ugly")).toBe('{"a":[1,2],"b":"x y"}');
  });
});

describe("@pretty", () => {
  it("puts members on their own lines and keeps short arrays on one line", () => {
    expect(raw('{"a":1,"b":[2,3],"c":{"d":"e"}}', "@pretty")).toBe(
      '{\n  "a": 1,\n  "b": [2, 3],\n  "c": {\n    "d": "e"\n  }\n}\n',
    );
    expect(raw("[1,2,3]", "@pretty")).toBe("[1, 2, 3]\n");
  });

  it("breaks arrays of objects onto lines", () => {
    expect(raw('[{"a":1},{"b":2}]', "@pretty")).toBe('[\n  {\n    "a": 1\n  },\n  {\n    "b": 2\n  }\n]\n');
  });

  it('sorts keys with {"sortKeys":true}, at every depth', () => {
    expect(raw('{"b":{"z":1,"a":[3,{"y":1,"x":2}]},"a":0}', '@pretty:{"sortKeys":true}')).toBe(
      '{\n  "a": 0,\n  "b": {\n    "a": [\n      3,\n      {\n        "x": 2,\n        "y": 1\n      }\n    ],\n    "z": 1\n  }\n}\n',
    );
  });

  it('indents with {"indent":…}', () => {
    expect(raw('{"a":{"b":1}}', '@pretty:{"indent":"\\t"}')).toBe('{\n\t"a": {\n\t\t"b": 1\n\t}\n}\n');
  });

  it('starts every line with {"prefix":…}', () => {
    // The output starts with the prefix, so the result (parsed from it) starts after the blanks.
    expect(raw('{"a":1}', '@pretty:{"prefix":"  "}')).toBe('{\n    "a": 1\n  }\n');
  });

  it('wraps arrays longer than {"width":…}', () => {
    expect(raw('{"a":[1,2,3]}', '@pretty:{"width":10}')).toBe('{\n  "a": [\n    1,\n    2,\n    3\n  ]\n}\n');
    expect(raw('{"a":[1,2,3]}', '@pretty:{"width":80}')).toBe('{\n  "a": [1, 2, 3]\n}\n');
  });

  it("applies to each element after #.", () => {
    expect(raw('[{"b":1,"a":2}]', '#.@pretty:{"sortKeys":true}')).toBe('[{\n  "a": 2,\n  "b": 1\n}\n]');
  });
});

describe("@this", () => {
  it("returns the current value", () => {
    expect(raw(PEOPLE, "name|@this")).toBe('{"first": "Tom", "last": "Anderson"}');
    expect(get("123", "@this").num).toBe(123);
  });
});

describe("@valid", () => {
  it("passes valid JSON through and drops invalid JSON", () => {
    expect(raw('{"a":[1,true,null]}', "@valid")).toBe('{"a":[1,true,null]}');
    expect(get('{"a":1,}', "@valid").exists).toBe(false);
    expect(get("[01]", "@valid").exists).toBe(false);
  });
});

describe("@flatten", () => {
  it("flattens one level by default", () => {
    expect(raw("[1,[2],[3,4],[5,[6,7]]]", "@flatten")).toBe("[1,2,3,4,5,[6,7]]");
  });

  it('flattens all levels with {"deep":true}', () => {
    expect(raw("[1,[2],[3,4],[5,[6,7]]]", '@flatten:{"deep":true}')).toBe("[1,2,3,4,5,6,7]");
  });

  it("drops empty arrays and leaves non-arrays alone", () => {
    expect(raw("[1,[],[[]],2]", "@flatten")).toBe("[1,[],2]");
    expect(raw('{"a":[1]}', "@flatten")).toBe('{"a":[1]}');
  });
});

describe("@join", () => {
  it("merges an array of objects, later values winning", () => {
    expect(raw('[{"first":"Tom","age":37},{"age":41}]', "@join")).toBe('{"first":"Tom","age":41}');
  });

  it('keeps duplicate keys with {"preserve":true}', () => {
    expect(raw('[{"first":"Tom","age":37},{"age":41}]', '@join:{"preserve":true}')).toBe(
      '{"first":"Tom","age":37,"age":41}',
    );
  });

  it("skips elements that are not objects", () => {
    expect(raw('[{"a":1},5,{"c":3}]', "@join")).toBe('{"a":1,"c":3}');
  });
});

describe("@keys and @values", () => {
  it("lists an object's keys and values", () => {
    expect(raw(PEOPLE, "name|@keys")).toBe('["first","last"]');
    expect(raw(PEOPLE, "name|@values")).toBe('["Tom","Anderson"]');
  });

  it("treats arrays and scalars as their own values", () => {
    expect(raw("[1,2]", "@values")).toBe("[1,2]");
    expect(raw('"hello"', "@values")).toBe('["hello"]');
    expect(raw('"hello"', "@keys")).toBe("[null]");
    expect(raw("", "@keys")).toBe("[]");
  });
});

describe("@tostr and @fromstr", () => {
  it("@tostr wraps JSON in a string, escaping HTML characters", () => {
    expect(get('{"a":"<b>"}', "@tostr").str).toBe('{"a":"<b>"}');
    expect(raw('{"a":"<b>"}', "@tostr")).toBe('"{\\"a\\":\\"\\u003cb\\u003e\\"}"');
  });

  it("@fromstr unwraps JSON held in a string", () => {
    expect(raw('{"s":"{\\"id\\":1023}"}', "s|@fromstr")).toBe('{"id":1023}');
    expect(get('{"s":"{\\"id\\":1023}"}', "s|@fromstr|id").num).toBe(1023);
  });

  it("round-trips", () => {
    expect(get(PEOPLE, "children|@reverse|@tostr|@fromstr|0").str).toBe("Jack");
  });
});

describe("@group", () => {
  it("zips arrays held by an object's members", () => {
    expect(raw('{"id":["123","456","789"],"val":[2,1]}', "@group")).toBe(
      '[{"id":"123","val":2},{"id":"456","val":1},{"id":"789"}]',
    );
  });

  it("finds nothing for non-objects", () => {
    expect(get("[1,2]", "@group").exists).toBe(false);
  });
});

describe("@dig", () => {
  const doc = '{"something":{"anything":{"abcdefg":{"finally":{"important":{"secret":"password"}},"name":"melinda"}}}}';

  it("finds a path at any depth", () => {
    expect(raw(doc, "@dig:secret")).toBe('["password"]');
    expect(raw(doc, "@dig:important.secret")).toBe('["password"]');
    expect(raw(doc, "@dig:missing")).toBe("[]");
  });

  it("takes a query as its argument", () => {
    const issues = '{"group":{"issues":[{"refid":"123","fields":{"labels":["milestone_1"]}},{"refid":"456"}]}}';
    expect(get(issues, "group.@dig:#(refid=123)|0.fields.labels.0").str).toBe("milestone_1");
  });
});

describe("modifier paths", () => {
  it("chains modifiers", () => {
    expect(get(PEOPLE, "@values|@flatten|#").num).toBe(9);
    expect(raw(PEOPLE, "friends.#.nets|@flatten|@reverse|@ugly")).toBe('["tw","ig","tw","fb","tw","fb","ig"]');
  });

  it("an unknown modifier finds nothing", () => {
    expect(get(PEOPLE, "@reverse2").exists).toBe(false);
    expect(modifierExists("reverse2")).toBe(false);
  });

  it("every built-in is registered", () => {
    for (const name of ["reverse", "ugly", "pretty", "this", "valid", "flatten", "join", "keys", "values", "tostr", "fromstr", "group", "dig"]) {
      expect(modifierExists(name)).toBe(true);
    }
  });
});

describe("custom modifiers", () => {
  afterEach(() => {
    for (const name of ["case", "push", "string", "double"]) removeModifier(name);
  });

  it("addModifier registers a function of (json, arg)", () => {
    addModifier("double", (json) => `[${json},${json}]`);
    expect(modifierExists("double")).toBe(true);
    expect(raw(PEOPLE, "age|@double")).toBe("[37,37]");
  });

  it("@case:upper / @case:lower", () => {
    addModifier("case", EXTRA_MODIFIERS.case);
    expect(raw(PEOPLE, "children|@case:upper")).toBe('["SARA","ALEX","JACK"]');
    expect(raw(PEOPLE, "children|@case:lower|@reverse")).toBe('["jack","alex","sara"]');
  });

  it("@push appends JSON arguments", () => {
    addModifier("push", EXTRA_MODIFIERS.push);
    expect(raw("[]", '@push:"2"|@push:{"a":[1]}|@push:true')).toBe('["2",{"a":[1]},true]');
  });

  it("@string turns a value into a string of its text", () => {
    addModifier("string", EXTRA_MODIFIERS.string);
    expect(raw(PEOPLE, "age|@string")).toBe('"37"');
    expect(get(PEOPLE, "name|@string").str).toBe('{"first": "Tom", "last": "Anderson"}');
  });

  it("an unregistered custom modifier finds nothing", () => {
    expect(get(PEOPLE, "children|@case:upper").exists).toBe(false);
  });
});
