/** Path syntax, one describe per element, from the examples of the GJSON syntax documentation. */
import { describe, expect, it } from "vitest";
import { get } from "../src/index.ts";
import { PEOPLE, TRUTHY } from "./fixtures.ts";

const raw = (json: string, path: string) => get(json, path).raw;
const missing = (json: string, path: string) => !get(json, path).exists;

describe("keys", () => {
  it("reads a top-level key", () => {
    expect(get(PEOPLE, "age").num).toBe(37);
    expect(get(PEOPLE, "age").raw).toBe("37");
  });

  it("follows nested keys with dots", () => {
    expect(get(PEOPLE, "name.last").str).toBe("Anderson");
    expect(get(PEOPLE, "name.first").raw).toBe('"Tom"');
  });

  it("keeps the raw text of objects and arrays, whitespace included", () => {
    expect(raw(PEOPLE, "name")).toBe('{"first": "Tom", "last": "Anderson"}');
    expect(raw(PEOPLE, "children")).toBe('["Sara","Alex","Jack"]');
  });

  it("reports a missing key as not existing", () => {
    const result = get(PEOPLE, "name.middle");
    expect(result.exists).toBe(false);
    expect(result.type).toBe("Null");
    expect(result.raw).toBe("");
  });

  it("compares keys after decoding their escapes", () => {
    expect(get('{"k\\u0065y":3}', "key").num).toBe(3);
  });

  it("matches the first of duplicate keys", () => {
    expect(get('{"a":1,"a":2}', "a").num).toBe(1);
  });

  it("reads an empty key with an empty component", () => {
    expect(get('{"":{"":"empty"}}', ".").str).toBe("empty");
  });

  it("treats @name as a plain key when no such modifier exists", () => {
    expect(get('{"@key": "value"}', "@key").str).toBe("value");
  });

  it("finds nothing in a scalar document", () => {
    expect(missing('"hello"', "hello")).toBe(true);
    expect(missing("123", "0")).toBe(true);
  });
});

describe("array indexes", () => {
  it("reads elements by position", () => {
    expect(get(PEOPLE, "children.1").str).toBe("Alex");
    expect(get(PEOPLE, "friends.1.first").str).toBe("Roger");
    expect(raw(PEOPLE, "friends.1")).toBe('{"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]}');
  });

  it("finds nothing past the end or at negative positions", () => {
    expect(missing(PEOPLE, "children.3")).toBe(true);
    expect(missing(PEOPLE, "children.-1")).toBe(true);
  });

  it("indexes a top-level array", () => {
    expect(raw("[[1,2,3],[4,[5,6]]]", "1.1.0")).toBe("5");
  });

  it("does not index objects by position", () => {
    expect(missing(PEOPLE, "name.0")).toBe(true);
    expect(get('{"0":"zero"}', "0").str).toBe("zero");
  });
});

describe("wildcards", () => {
  it("* matches any run of characters", () => {
    expect(get(PEOPLE, "child*.2").str).toBe("Jack");
    expect(raw(PEOPLE, "*.first")).toBe('"Tom"');
  });

  it("? matches exactly one character", () => {
    expect(get(PEOPLE, "c?ildren.0").str).toBe("Sara");
    expect(get(PEOPLE, "?ge").num).toBe(37);
    expect(missing(PEOPLE, "?age")).toBe(true);
  });

  it("matches whole characters, not UTF-16 halves", () => {
    expect(get('{"😀x":1}', "?x").num).toBe(1);
  });

  it("takes the first key that matches", () => {
    expect(raw(PEOPLE, "*")).toBe('{"first": "Tom", "last": "Anderson"}');
  });
});

describe("escapes", () => {
  it("\\. makes a dot part of the key", () => {
    expect(get(PEOPLE, "fav\\.movie").str).toBe("Deer Hunter");
  });

  it("\\* and \\? make wildcard characters literal", () => {
    const doc = '{"test":{"*":"star","*v":"val0","key*v":"val2","keyv?":"val3","keyk*":{"key?":"val7"}}}';
    expect(get(doc, "test.\\*").str).toBe("star");
    expect(get(doc, "test.key\\*v").str).toBe("val2");
    expect(get(doc, "test.keyv\\?").str).toBe("val3");
    expect(get(doc, "test.keyk\\*.key\\?").str).toBe("val7");
  });

  it("\\| and \\@ escape pipes and modifier marks", () => {
    expect(get('{"a|b":1}', "a\\|b").num).toBe(1);
    expect(get('{"@reverse":2}', "\\@reverse").num).toBe(2);
  });
});

describe("# (length)", () => {
  it("counts the elements of an array", () => {
    expect(get(PEOPLE, "friends.#").num).toBe(3);
    expect(get(PEOPLE, "friends.#").type).toBe("Number");
    expect(get("[]", "#").raw).toBe("0");
  });

  it("finds nothing for objects and scalars", () => {
    expect(missing(PEOPLE, "name.#")).toBe(true);
    expect(missing(PEOPLE, "age.#")).toBe(true);
  });
});

describe("#. (mapping)", () => {
  it("applies the rest of the path to every element", () => {
    expect(raw(PEOPLE, "friends.#.age")).toBe("[44,68,47]");
    expect(raw(PEOPLE, "friends.#.first")).toBe('["Dale","Roger","Jane"]');
  });

  it("leaves out elements where nothing is found", () => {
    expect(raw('[{"a":1},{"b":2},{"a":3}]', "#.a")).toBe("[1,3]");
    expect(raw(PEOPLE, "friends.#.middle")).toBe("[]");
  });

  it("nests", () => {
    expect(raw(PEOPLE, "friends.#.nets.#")).toBe("[3,2,2]");
    expect(raw('{"a":[{"b":[{"c":1},{"c":2}]},{"b":[{"c":3}]}]}', "a.#.b.#.c")).toBe("[[1,2],[3]]");
  });

  it("keeps raw element text", () => {
    expect(raw(PEOPLE, "friends.#.nets")).toBe('[["ig", "fb", "tw"],["fb", "tw"],["ig", "tw"]]');
  });
});

describe("queries", () => {
  it("#(…) returns the first match", () => {
    expect(get(PEOPLE, 'friends.#(last=="Murphy").first').str).toBe("Dale");
  });

  it("#(…)# returns all matches", () => {
    expect(raw(PEOPLE, 'friends.#(last=="Murphy")#.first')).toBe('["Dale","Jane"]');
    expect(raw(PEOPLE, "friends.#(age>45)#.last")).toBe('["Craig","Murphy"]');
  });

  it("a first-match query with no match finds nothing; an all-match query gives []", () => {
    expect(missing(PEOPLE, 'friends.#(last=="Smith")')).toBe(true);
    expect(raw(PEOPLE, 'friends.#(last=="Smith")#')).toBe("[]");
  });

  it("the left side may be empty for scalar elements", () => {
    expect(get(PEOPLE, 'children.#(!%"*a*")').str).toBe("Alex");
    expect(raw(PEOPLE, 'children.#(%"*a*")#')).toBe('["Sara","Jack"]');
  });

  it("accepts bare words, numbers and spaces around the operator", () => {
    expect(get(PEOPLE, "friends.#(last=Murphy).first").str).toBe("Dale");
    expect(get(PEOPLE, 'friends.#( last == "Murphy" ).first').str).toBe("Dale");
  });

  it("tests existence without an operator", () => {
    const doc = '{"items":[{"id":1,"note":null},{"id":2},{"id":3,"note":"x"}]}';
    expect(raw(doc, "items.#(note)#.id")).toBe("[1,3]");
    expect(get(doc, "items.#(note).id").num).toBe(1);
  });

  it("accepts the legacy #[…] form", () => {
    expect(get(PEOPLE, 'friends.#[last=="Murphy"].first').str).toBe("Dale");
    expect(raw(PEOPLE, 'friends.#[last=="Murphy"]#.first')).toBe('["Dale","Jane"]');
  });

  it("decodes escapes in quoted operands", () => {
    const doc = '{"friends":[{"last":"Mur\\nphy","age":44}]}';
    expect(get(doc, 'friends.#(last=="Mur\\nphy").age').num).toBe(44);
  });
});

describe("query operators", () => {
  const doc = '{"n":[1,2,3,10],"s":["apple","Banana","cherry"],"b":[true,false]}';

  it("== and = test equality, != inequality", () => {
    expect(raw(doc, "n.#(==2)#")).toBe("[2]");
    expect(raw(doc, "n.#(=2)#")).toBe("[2]");
    expect(raw(doc, "n.#(!=2)#")).toBe("[1,3,10]");
  });

  it("<, <=, >, >= compare numbers as numbers", () => {
    expect(raw(doc, "n.#(<3)#")).toBe("[1,2]");
    expect(raw(doc, "n.#(<=3)#")).toBe("[1,2,3]");
    expect(raw(doc, "n.#(>2)#")).toBe("[3,10]");
    expect(raw(doc, "n.#(>=10)#")).toBe("[10]");
  });

  it("compares strings by code point", () => {
    expect(raw(doc, 's.#(<"b")#')).toBe('["apple","Banana"]');
    expect(raw(doc, 's.#(>="c")#')).toBe('["cherry"]');
  });

  it("% and !% match wildcard patterns", () => {
    expect(raw(doc, 's.#(%"*an*")#')).toBe('["Banana"]');
    expect(raw(doc, 's.#(!%"*an*")#')).toBe('["apple","cherry"]');
    expect(get(PEOPLE, 'friends.#(first%"D*").last').str).toBe("Murphy");
    expect(get(PEOPLE, 'friends.#(first!%"D*").last').str).toBe("Craig");
  });

  it("orders booleans with true above false", () => {
    expect(raw(doc, "b.#(==true)#")).toBe("[true]");
    expect(raw(doc, "b.#(>false)#")).toBe("[true]");
    expect(raw(doc, "b.#(<true)#")).toBe("[false]");
  });

  it("reads the operand by the element's type", () => {
    // A number element reads the operand as a number, a string element as text.
    expect(raw(doc, 'n.#(=="1")#')).toBe("[1]");
    expect(raw('[1,"1"]', '#(=="1")#')).toBe('[1,"1"]');
    expect(raw('[1,"1",true]', "#(==true)#")).toBe("[true]");
    expect(raw('[null,{"a":1}]', "#(==null)#")).toBe("[]");
  });
});

describe("tilde operands", () => {
  it("~true matches true-ish values", () => {
    expect(raw(TRUTHY, "vals.#(b==~true)#.a")).toBe("[2,6,7,8]");
  });

  it("~false matches false-ish or missing values", () => {
    expect(raw(TRUTHY, "vals.#(b==~false)#.a")).toBe("[3,4,5,9,10,11]");
  });

  it("~null matches null or missing values", () => {
    expect(raw(TRUTHY, "vals.#(b==~null)#.a")).toBe("[10,11]");
  });

  it("~* matches any existing value", () => {
    expect(raw(TRUTHY, "vals.#(b==~*)#.a")).toBe("[1,2,3,4,5,6,7,8,9,10]");
  });

  it("!= negates", () => {
    expect(raw(TRUTHY, "vals.#(b!=~true)#.a")).toBe("[1,3,4,5,9,10,11]");
  });
});

describe("nested queries", () => {
  it("queries an element's array from inside a query", () => {
    expect(raw(PEOPLE, 'friends.#(nets.#(=="fb"))#.first')).toBe('["Dale","Roger"]');
    expect(get(PEOPLE, 'friends.#(nets.#(=="fb")).first').str).toBe("Dale");
  });
});

describe("dot vs pipe", () => {
  it("agree on plain paths", () => {
    for (const path of ["friends.0.first", "friends|0.first", "friends.0|first", "friends|0|first"]) {
      expect(get(PEOPLE, path).str).toBe("Dale");
    }
    expect(get(PEOPLE, "friends|#").num).toBe(3);
  });

  it("after #(…)# a dot maps over the matches, a pipe applies to the match list", () => {
    expect(raw(PEOPLE, 'friends.#(last="Murphy")#.first')).toBe('["Dale","Jane"]');
    expect(missing(PEOPLE, 'friends.#(last="Murphy")#|first')).toBe(true);
    expect(raw(PEOPLE, 'friends.#(last="Murphy")#.0')).toBe("[]");
    expect(get(PEOPLE, 'friends.#(last="Murphy")#|0.first').str).toBe("Dale");
    expect(raw(PEOPLE, 'friends.#(last="Murphy")#.#')).toBe("[]");
    expect(get(PEOPLE, 'friends.#(last="Murphy")#|#').num).toBe(2);
  });

  it("a dot before a modifier, [ or { acts as a pipe", () => {
    expect(raw(PEOPLE, "children.@reverse")).toBe('["Jack","Alex","Sara"]');
    expect(raw(PEOPLE, "name.[first,last]")).toBe('["Tom","Anderson"]');
    expect(raw(PEOPLE, "name.{first}")).toBe('{"first":"Tom"}');
  });

  it("inside a mapping the dot keeps mapping", () => {
    expect(raw(PEOPLE, "friends.#.age.@reverse")).toBe("[44,68,47]");
    expect(raw(PEOPLE, "friends.#.age|@reverse")).toBe("[47,68,44]");
  });
});
