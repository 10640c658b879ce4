/** Multipaths, literals and JSON Lines. */
import { describe, expect, it } from "vitest";
import { get } from "../src/index.ts";
import { LINES, PEOPLE } from "./fixtures.ts";

const raw = (json: string, path: string) => get(json, path).raw;

describe("multipaths", () => {
  it("[a,b] builds an array", () => {
    expect(raw(PEOPLE, "[name.first,age]")).toBe('["Tom",37]');
    expect(get(PEOPLE, "[name.first,age].#").num).toBe(2);
  });

  it("{a,b} builds an object named after each path's last component", () => {
    expect(raw(PEOPLE, '{name.first,age,"the_murphys":friends.#(last="Murphy")#.first}')).toBe(
      '{"first":"Tom","age":37,"the_murphys":["Dale","Jane"]}',
    );
  });

  it("takes explicit names, quoted or bare", () => {
    expect(raw(PEOPLE, '{"n":name.first,a:age}')).toBe('{"n":"Tom","a":37}');
  });

  it('names a member "_" when the last component is not a plain name', () => {
    expect(raw(PEOPLE, "{children.#}")).toBe('{"_":3}');
    expect(raw(PEOPLE, '{friends.#(last="Craig")|age}')).toBe('{"age":68}');
  });

  it("leaves out paths that find nothing", () => {
    expect(raw(PEOPLE, "[name.first,missing,age]")).toBe('["Tom",37]');
    expect(raw(PEOPLE, "{missing}")).toBe("{}");
  });

  it("nests, and continues after a dot or pipe", () => {
    expect(raw(PEOPLE, '{"a":[{"b":[age]}]}')).toBe('{"a":[{"b":[37]}]}');
    expect(get(PEOPLE, "{name}.name.first").str).toBe("Tom");
    expect(get(PEOPLE, "[name.first,age]|0").str).toBe("Tom");
  });

  it("applies to each element after #.", () => {
    expect(raw(PEOPLE, "friends.#.{first,age}")).toBe(
      '[{"first":"Dale","age":44},{"first":"Roger","age":68},{"first":"Jane","age":47}]',
    );
    expect(raw(PEOPLE, "friends.#.[first,age]")).toBe('[["Dale",44],["Roger",68],["Jane",47]]');
  });
});

describe("literals", () => {
  it("! makes a JSON value of its own", () => {
    expect(get(PEOPLE, "!true").type).toBe("True");
    expect(get(PEOPLE, "!false").type).toBe("False");
    expect(get(PEOPLE, "!null").type).toBe("Null");
    expect(get(PEOPLE, "!null").exists).toBe(true);
    expect(get(PEOPLE, '!"Happysoft"').str).toBe("Happysoft");
    expect(get(PEOPLE, "!-1.5e3").num).toBe(-1500);
    expect(raw(PEOPLE, '!{"a":[1,2]}')).toBe('{"a":[1,2]}');
  });

  it("mixes with paths in multipaths", () => {
    expect(raw(PEOPLE, '{name.first,age,"company":!"Happysoft","employed":!true}')).toBe(
      '{"first":"Tom","age":37,"company":"Happysoft","employed":true}',
    );
  });

  it("is independent of the document", () => {
    expect(get("not json", "!true").bool).toBe(true);
    expect(get("", '![1,2]|#').num).toBe(2);
  });

  it("continues with the rest of the path", () => {
    expect(get("", '!{"a":[1,2]}.a.1').num).toBe(2);
    expect(raw("", "![1,[2,[3]]]|@flatten")).toBe("[1,2,[3]]");
  });

  it("reads inf and nan as numbers", () => {
    expect(get("", "!inf").num).toBe(Infinity);
    expect(get("", "!-inf").num).toBe(-Infinity);
    expect(get("", "!nan").num).toBeNaN();
    expect(get("", "!inf").str).toBe("+Inf");
  });

  it("drops invalid literals", () => {
    expect(get(PEOPLE, "!hello").exists).toBe(false);
    expect(get(PEOPLE, "!").exists).toBe(false);
    expect(get(PEOPLE, "{!hello,age}").raw).toBe('{"age":37}');
  });
});

describe("JSON Lines", () => {
  it(".. treats each line as an array element", () => {
    expect(get(LINES, "..#").num).toBe(4);
    expect(raw(LINES, "..1")).toBe('{"name": "Alexa", "age": 34}');
    expect(get(LINES, "..3.name").str).toBe("Deloise");
  });

  it("maps and queries over lines", () => {
    expect(raw(LINES, "..#.name")).toBe('["Gilbert","Alexa","May","Deloise"]');
    expect(get(LINES, '..#(name="May").age').num).toBe(57);
    expect(raw(LINES, "..#(age>40)#.name")).toBe('["Gilbert","May","Deloise"]');
  });

  it("accepts any whitespace between values, and scalars", () => {
    expect(get('{"a":1}\r\n\r\n{"a":2}', "..1.a").num).toBe(2);
    expect(get("1 true \"x\"", "..2").str).toBe("x");
  });

  it("without .. only the first value is read", () => {
    expect(get(LINES, "name").str).toBe("Gilbert");
    expect(get(LINES, "#").exists).toBe(false);
  });
});
