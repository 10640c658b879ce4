import { execFileSync } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink as fsSymlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isTServeError } from "../../../packages/server/src/errors/index.ts";
import {
  crc32,
  DEFAULT_EXTRACT_LIMITS,
  detectArchiveFormat,
  extractArchive,
  type ExtractLimits,
  formatOfName,
  isArchivePath,
  packDirectory,
  prepareModelPath,
  resolveExtractLimits,
  safeEntryPath,
} from "../../../packages/server/src/storage/index.ts";
import {
  centralRecords,
  dir,
  file,
  hardlink,
  paxEntry,
  readTree,
  symlink,
  tar,
  tarEnd,
  tarEntry,
  tgz,
  zip,
} from "../../fixtures/archives/build.ts";

let work: string;
let n = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "tserve-archive-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Writes archive bytes to a fresh file and returns [archive path, a destination that does not exist yet]. */
async function place(bytes: Uint8Array, name = "model.tar.gz"): Promise<[string, string]> {
  const d = join(work, `case-${++n}`);
  await mkdir(d);
  const archive = join(d, name);
  await writeFile(archive, bytes);
  return [archive, join(d, "out")];
}

async function extractBytes(bytes: Uint8Array, name?: string, limits?: Partial<ExtractLimits>) {
  const [archive, dest] = await place(bytes, name);
  const result = await extractArchive(archive, dest, limits);
  return { dest, result, tree: await readTree(dest) };
}

/** Extraction must fail with a 400 naming `mentions`, leaving no destination and no temporary folder behind. */
async function expectRefused(bytes: Uint8Array, mentions: (string | RegExp)[], limits?: Partial<ExtractLimits>, name?: string) {
  const [archive, dest] = await place(bytes, name);
  let caught: unknown;
  try {
    await extractArchive(archive, dest, limits);
  } catch (err) {
    caught = err;
  }
  expect(caught, "extraction should have been refused").toBeDefined();
  expect(isTServeError(caught), String(caught)).toBe(true);
  expect((caught as { status: number }).status).toBe(400);
  const message = (caught as Error).message;
  for (const m of mentions) {
    if (typeof m === "string") expect(message).toContain(m);
    else expect(message).toMatch(m);
  }
  expect(await readdir(join(dest, ".."))).toEqual([archive.split("/").pop()]);
  return message;
}

const text = (t: Map<string, Buffer | "dir">, p: string) => {
  const v = t.get(p);
  return v instanceof Buffer ? v.toString() : v;
};

describe("archive names and formats", () => {
  it("isArchivePath knows .tar, .tar.gz, .tgz and .zip, in any case", () => {
    for (const yes of ["m.tar", "m.tar.gz", "m.tgz", "m.zip", "/a/b/M.TGZ", "iris.TAR.GZ"]) expect(isArchivePath(yes), yes).toBe(true);
    for (const no of ["m.gz", "m.onnx", "m.tar.bz2", "tar", "m.zipx", "m.tar.gz.part", "model"]) expect(isArchivePath(no), no).toBe(false);
    expect(formatOfName("x.tgz")).toBe("tar.gz");
    expect(formatOfName("x.tar.gz")).toBe("tar.gz");
    expect(formatOfName("x.zip")).toBe("zip");
    expect(formatOfName("x.tar")).toBe("tar");
  });

  it("tells gzip, zip and tar apart by their bytes, whatever the name says", async () => {
    const t = await tar([file("a.txt", "hi")]);
    const cases: [Uint8Array, string, string][] = [
      [gzipSync(t), "model.zip", "tar.gz"],
      [gzipSync(t), "model", "tar.gz"],
      [t, "model.tar.gz", "tar"],
      [await zip([file("a.txt", "hi")]), "model.tgz", "zip"],
    ];
    for (const [bytes, name, format] of cases) {
      const { result, tree } = await extractBytes(bytes, name);
      expect(result.format).toBe(format);
      expect(text(tree, "a.txt")).toBe("hi");
    }
  });

  it("refuses what is not an archive, naming bzip2/xz instead of guessing", async () => {
    const [plain] = await place(Buffer.from("just some text, not an archive"), "m.tar.gz");
    await expect(detectArchiveFormat(plain)).rejects.toThrow(/not a tar, tar.gz or zip archive/);
    await expectRefused(Buffer.from("BZh91AY&SY..."), ["bzip2"], undefined, "m.tar.bz2");
    await expectRefused(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2]), ["xz"]);
    await expectRefused(gzipSync(Buffer.from("a gzipped text file, not a tar".repeat(40))), ["not a tar"]);
    await expectRefused(Buffer.alloc(0), ["empty"]);
  });

  it("refuses corrupt gzip data", async () => {
    const good = await tgz([file("a.txt", "x".repeat(10_000))]);
    const bad = Buffer.from(good);
    bad.fill(0x55, 20, 40);
    await expectRefused(bad, [/gzip|not a valid tar/]);
  });
});

describe("tar", () => {
  it("extracts ustar files, folders and modes; reports files and bytes", async () => {
    const { result, tree, dest } = await extractBytes(
      await tgz([dir("1"), file("1/model.onnx", "ONNX"), file("model-settings.json", "{}"), file("run.sh", "#!/bin/sh\n", 0o755)]),
    );
    expect([...tree.keys()].sort()).toEqual(["1/", "1/model.onnx", "model-settings.json", "run.sh"]);
    expect(text(tree, "1/model.onnx")).toBe("ONNX");
    expect(result).toMatchObject({ dir: dest, root: dest, format: "tar.gz", files: 3, bytes: 4 + 2 + 10 });
    expect((await stat(join(dest, "run.sh"))).mode & 0o111).not.toBe(0);
    expect((await stat(join(dest, "1/model.onnx"))).mode & 0o111).toBe(0);
  });

  it("joins the ustar prefix field to the name", async () => {
    const long = `${"d".repeat(90)}/${"e".repeat(50)}/model.onnx`; // 152 bytes: prefix + name
    const { tree } = await extractBytes(await tar([file(long, "p")]));
    expect(text(tree, long)).toBe("p");
  });

  it("reads GNU long names and long link names (L / K headers)", async () => {
    const long = `${"a".repeat(120)}/${"b".repeat(120)}/${"c".repeat(60)}.onnx`;
    const bytes = await tar([file(long, "long"), symlink(`${"l".repeat(150)}.onnx`, long)], { longNames: "gnu" });
    expect(bytes.includes("././@LongLink")).toBe(true);
    const { tree } = await extractBytes(bytes);
    expect(text(tree, long)).toBe("long");
    expect(text(tree, `${"l".repeat(150)}.onnx`)).toBe("long");
  });

  it("reads pax extended headers: path, linkpath and size", async () => {
    const long = `${"p".repeat(200)}/${"q".repeat(200)}.onnx`; // too long for ustar's prefix + name
    const viaWriter = await tar([file(long, "pax")]);
    expect(viaWriter.includes("PaxHeader")).toBe(true);
    expect(text((await extractBytes(viaWriter)).tree, long)).toBe("pax");

    // A pax size overrides the header's size field.
    const data = Buffer.from("twelve bytes");
    const raw = Buffer.concat([
      paxEntry({ path: "from-pax.txt", size: String(data.length) }),
      tarEntry({ name: "ignored.txt", size: 0 }, new Uint8Array(0)).subarray(0, 512),
      data,
      Buffer.alloc(512 - data.length),
      tarEnd(),
    ]);
    const { tree } = await extractBytes(raw);
    expect([...tree.keys()]).toEqual(["from-pax.txt"]);
    expect(text(tree, "from-pax.txt")).toBe("twelve bytes");
  });

  it("ignores pax global headers and GNU volume labels, and stops at the first end block", async () => {
    const raw = Buffer.concat([
      tarEntry({ name: "vol", typeflag: "V" }),
      tarEntry({ name: "global", typeflag: "g" }, Buffer.from("20 comment=anything\n")),
      tarEntry({ name: "a.txt" }, Buffer.from("a")),
      tarEnd(),
      Buffer.from("garbage after the end is never read"),
    ]);
    const { tree } = await extractBytes(raw);
    expect([...tree.keys()]).toEqual(["a.txt"]);
  });

  it("tolerates a tar without end blocks and ./ prefixes", async () => {
    const raw = Buffer.concat([tarEntry({ name: "./", typeflag: "5" }), tarEntry({ name: "./1/model.onnx" }, Buffer.from("m"))]);
    const { tree } = await extractBytes(raw);
    expect([...tree.keys()].sort()).toEqual(["1/", "1/model.onnx"]);
  });

  it("reads archives made by the system tar (GNU and pax formats, `tar -czvf iris.tar.gz 0001`)", async (ctx) => {
    try {
      execFileSync("tar", ["--version"], { stdio: "ignore" });
    } catch {
      ctx.skip();
    }
    const src = join(work, "systar");
    const deep = `${"x".repeat(110)}/${"y".repeat(110)}`;
    await mkdir(join(src, "0001", deep), { recursive: true });
    await writeFile(join(src, "0001", "model.onnx"), Buffer.from([0, 1, 2, 255]));
    await writeFile(join(src, "0001", deep, "weights.bin"), "w");
    for (const format of ["gnu", "pax", "ustar"]) {
      const out = join(work, `sys-${format}.tar.gz`);
      const args = format === "ustar" ? ["-czf", out, "-C", src, "0001/model.onnx"] : [`--format=${format}`, "-czvf", out, "-C", src, "0001"];
      execFileSync("tar", args, { stdio: "ignore" });
      const { result, tree } = await extractBytes(await readFile(out));
      expect(result.root).toBe(result.dir); // 0001 is a version folder, not the model folder
      expect(tree.get("0001/model.onnx")).toEqual(Buffer.from([0, 1, 2, 255]));
      if (format !== "ustar") expect(text(tree, `0001/${deep}/weights.bin`)).toBe("w");
    }
    // `tar czvf iris.tgz *`: the files at the top.
    execFileSync("sh", ["-c", `cd ${JSON.stringify(join(src, "0001"))} && tar czf ../star.tgz *`]);
    const { tree } = await extractBytes(await readFile(join(src, "star.tgz")));
    expect(tree.has("model.onnx")).toBe(true);
  });
});

describe("zip", () => {
  it("extracts stored and deflate entries, checking CRC-32", async () => {
    const big = Buffer.alloc(100_000, "abc");
    for (const method of ["store", "deflate"] as const) {
      const bytes = await zip([dir("1"), file("1/model.onnx", big), file("labels.json", "[]")], { method });
      const { result, tree } = await extractBytes(bytes, "m.zip");
      expect(result.format).toBe("zip");
      expect(tree.get("1/model.onnx")).toEqual(big);
      expect(text(tree, "labels.json")).toBe("[]");
      if (method === "deflate") expect(bytes.length).toBeLessThan(big.length / 10);
    }
  });

  it("reads streamed entries with data descriptors (as packDirectory writes them)", async () => {
    const src = join(work, "zipsrc");
    await mkdir(join(src, "1"), { recursive: true });
    await writeFile(join(src, "1", "model.onnx"), Buffer.alloc(300_000, 7));
    const out = join(work, "streamed.zip");
    await packDirectory(src, out);
    const { tree } = await extractBytes(await readFile(out), "m.zip");
    expect(tree.get("1/model.onnx")).toEqual(Buffer.alloc(300_000, 7));
  });

  it("refuses a wrong CRC, encrypted entries and unsupported methods", async () => {
    const good = await zip([file("a.txt", "hello")], { method: "store" });
    const badCrc = Buffer.from(good);
    const [cd] = centralRecords(badCrc);
    badCrc.writeUInt32LE(crc32(Buffer.from("jello")), cd + 16);
    await expectRefused(badCrc, ["a.txt", "CRC"], undefined, "m.zip");

    const encrypted = Buffer.from(good);
    encrypted.writeUInt16LE(encrypted.readUInt16LE(cd + 8) | 1, cd + 8);
    await expectRefused(encrypted, ["a.txt", "encrypted"], undefined, "m.zip");

    const bzip2 = Buffer.from(good);
    bzip2.writeUInt16LE(12, cd + 10);
    await expectRefused(bzip2, ["a.txt", "method 12", "bzip2"], undefined, "m.zip");
  });

  it("refuses a truncated zip", async () => {
    const good = await zip([file("a.txt", "hello")]);
    await expectRefused(good.subarray(0, good.length - 30), ["not a valid zip"], undefined, "m.zip");
  });

  it("skips macOS __MACOSX folders", async () => {
    const { tree } = await extractBytes(await zip([file("model.onnx", "m"), file("__MACOSX/._model.onnx", "rsrc")]), "m.zip");
    expect([...tree.keys()]).toEqual(["model.onnx"]);
  });
});

describe("the model folder an archive holds (ExtractResult.root)", () => {
  it("is the single top-level folder when it is not a version number", async () => {
    const { result, dest } = await extractBytes(await tgz([dir("iris"), dir("iris/1"), file("iris/1/model.onnx", "m")]));
    expect(result.root).toBe(join(dest, "iris"));
    expect(result.dir).toBe(dest);
  });

  it("is the destination for a lone version folder, or several top-level entries", async () => {
    const one = await extractBytes(await tgz([dir("0001"), file("0001/model.onnx", "m")]));
    expect(one.result.root).toBe(one.dest);
    const two = await extractBytes(await tgz([file("model.onnx", "m"), file("labels.json", "[]")]));
    expect(two.result.root).toBe(two.dest);
  });
});

describe("links", () => {
  it("materialises symlinks and hardlinks to files inside the folder as copies (no link is created)", async () => {
    const { tree, dest, result } = await extractBytes(
      await tgz([
        file("1/model.onnx", "weights"),
        symlink("latest.onnx", "1/model.onnx"),
        symlink("1/alias.onnx", "./model.onnx"),
        hardlink("copy.onnx", "1/model.onnx"),
        symlink("chain.onnx", "latest.onnx"),
      ]),
    );
    for (const p of ["latest.onnx", "1/alias.onnx", "copy.onnx", "chain.onnx"]) {
      expect(text(tree, p), p).toBe("weights");
      expect((await lstat(join(dest, p))).isSymbolicLink()).toBe(false);
    }
    expect(result.files).toBe(5);
  });

  it("materialises zip symlinks too", async () => {
    const { tree } = await extractBytes(await zip([file("a.onnx", "A"), symlink("b.onnx", "a.onnx")]), "m.zip");
    expect(text(tree, "b.onnx")).toBe("A");
  });

  it("refuses links to folders, to nothing, and loops", async () => {
    await expectRefused(await tgz([dir("1"), file("1/m.onnx", "m"), symlink("cur", "1")]), ['"cur"', "folder"]);
    await expectRefused(await tgz([symlink("a.onnx", "missing.onnx")]), ['"a.onnx"', "not in the archive"]);
    await expectRefused(await tgz([symlink("a", "b"), symlink("b", "a")]), ["loop"]);
  });
});

describe("malicious archives are refused with a 400 naming the entry, leaving nothing behind", () => {
  it("path traversal with ..", async () => {
    await expectRefused(await tgz([file("../x", "evil")]), ['"../x"', ".."]);
    await expectRefused(await tgz([file("a/../../x", "evil")]), ['"a/../../x"']);
    await expectRefused(await zip([file("../../x", "evil")]), ['"../../x"', ".."], undefined, "m.zip");
    await expectRefused(await tgz([file("ok.txt", "fine"), file("1/../../escape.txt", "evil")]), ["escape.txt"]);
  });

  it("absolute paths", async () => {
    await expectRefused(await tgz([file("/etc/x", "evil")]), ['"/etc/x"', "absolute"]);
    await expectRefused(await zip([file("/etc/x", "evil")]), ["absolute"], undefined, "m.zip");
  });

  it("Windows drive letters and backslashes", async () => {
    await expectRefused(await zip([file("C:/Windows/x", "evil")]), ["drive"], undefined, "m.zip");
    await expectRefused(await zip([file("..\\..\\x", "evil")]), ["backslash"], undefined, "m.zip");
    await expectRefused(await tgz([file("a\\b", "evil")]), ["backslash"]);
  });

  it("symlinks that leave the folder", async () => {
    await expectRefused(await tgz([symlink("passwd", "/etc/passwd")]), ['"passwd"', "outside the folder"]);
    await expectRefused(await tgz([dir("1"), symlink("1/up", "../../outside")]), ['"1/up"', "outside the folder"]);
    await expectRefused(await zip([symlink("passwd", "../../../etc/passwd")]), ["outside the folder"], undefined, "m.zip");
  });

  it("hardlinks that leave the folder", async () => {
    await expectRefused(await tgz([hardlink("h", "../../etc/passwd")]), ['"h"', "hardlink", "outside the folder"]);
    await expectRefused(await tgz([hardlink("h", "/etc/shadow")]), ["outside the folder"]);
  });

  it("an entry written through a symlink's name is refused, not followed", async () => {
    await expectRefused(await tgz([file("t.txt", "t"), symlink("d", "t.txt"), file("d/x", "through the link")]), ['"d/x"', "folder"]);
  });

  it("too many entries (tar counts as it goes; zip is refused from its directory)", async () => {
    const many = Array.from({ length: 6 }, (_, i) => file(`f${i}.txt`, "x"));
    await expectRefused(await tgz(many), ["more than 5 entries", "TSERVE_EXTRACT_MAX_FILES"], { maxFiles: 5 });
    await expectRefused(await zip(many), ["6 entries", "more than 5"], { maxFiles: 5 }, "m.zip");
    await extractBytes(await tgz(many), undefined, { maxFiles: 6 });
  });

  it("expanded size over the limit: a gzip bomb-ish tar is stopped by counting", async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const bytes = await tgz([file("weights.bin", zeros)]);
    expect(bytes.length).toBeLessThan(64 * 1024); // a >100:1 ratio
    await expectRefused(bytes, ['"weights.bin"', "TSERVE_EXTRACT_MAX_BYTES"], { maxBytes: 1024 * 1024 });
    await expectRefused(bytes, ['"weights.bin"', "TSERVE_EXTRACT_MAX_ENTRY_BYTES"], { maxEntryBytes: 4096 });
    // The total counts every file.
    const parts = Array.from({ length: 4 }, (_, i) => file(`p${i}.bin`, Buffer.alloc(400 * 1024)));
    await expectRefused(await tgz(parts), ['"p2.bin"', "TSERVE_EXTRACT_MAX_BYTES"], { maxBytes: 1024 * 1024 });
  });

  it("a real high-ratio zip bomb entry is stopped by counting inflated bytes, not by its declared size", async () => {
    const zeros = Buffer.alloc(32 * 1024 * 1024);
    const bomb = await zip([file("bomb.bin", zeros)]);
    expect(bomb.length).toBeLessThan(64 * 1024); // ~1000:1
    await expectRefused(bomb, ['"bomb.bin"', "TSERVE_EXTRACT_MAX_BYTES"], { maxBytes: 1024 * 1024 }, "m.zip");

    // The same bomb lying that it holds 1,000 bytes: refused as soon as it inflates past that.
    const liar = Buffer.from(bomb);
    for (const cd of centralRecords(liar)) liar.writeUInt32LE(1000, cd + 24);
    await expectRefused(liar, ['"bomb.bin"', "more than the 1000 bytes it declares"], undefined, "m.zip");
  });

  it("a zip whose entries overlap the same compressed data (a 'better zip bomb') still counts every byte", async () => {
    const data = Buffer.alloc(600 * 1024, 1);
    const compressed = deflateRawSync(data);
    const crc = crc32(data);
    const name = (i: number) => Buffer.from(`f${i}.bin`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name(0).length, 26);
    const head = Buffer.concat([local, name(0), compressed]);
    const central = Array.from({ length: 3 }, (_, i) => {
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(8, 10);
      c.writeUInt32LE(crc, 16);
      c.writeUInt32LE(compressed.length, 20);
      c.writeUInt32LE(data.length, 24);
      c.writeUInt16LE(name(i).length, 28);
      c.writeUInt32LE(0, 42); // every entry points at the same local header
      return Buffer.concat([c, name(i)]);
    });
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(3, 8);
    end.writeUInt16LE(3, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(head.length, 16);
    await expectRefused(Buffer.concat([head, cd, end]), ['"f1.bin"', "TSERVE_EXTRACT_MAX_BYTES"], { maxBytes: 1024 * 1024 }, "m.zip");
  });

  it("a tar with a lying header: a huge claimed size is refused before any byte is read", async () => {
    const header = tarEntry({ name: "huge.bin", size: 50 * 1024 ** 3 }).subarray(0, 512);
    await expectRefused(Buffer.concat([header, Buffer.alloc(4096), tarEnd()]), ['"huge.bin"', "TSERVE_EXTRACT_MAX_BYTES"]);
    // A pax size can lie as well.
    await expectRefused(
      Buffer.concat([paxEntry({ size: String(10 * 1024 ** 4) }), tarEntry({ name: "pax-huge.bin" }).subarray(0, 512), tarEnd()]),
      ['"pax-huge.bin"', "TSERVE_EXTRACT_MAX_BYTES"],
    );
  });

  it("a tar with a lying header: more data than claimed, or less, is corrupt", async () => {
    const data = Buffer.alloc(2000, 0x41);
    const short = Buffer.concat([encodeShortHeader("short.bin", 10), data, tarEnd()]);
    await expectRefused(short, ["bad header checksum"]);
    const truncated = Buffer.concat([tarEntry({ name: "cut.bin", size: 100_000 }).subarray(0, 512), Buffer.alloc(1000)]);
    await expectRefused(truncated, ['"cut.bin"', "ends inside"]);
  });

  it("duplicate entries never replace one another", async () => {
    await expectRefused(await tgz([file("model.onnx", "good"), file("model.onnx", "evil")]), ['"model.onnx"', "twice"]);
    await expectRefused(await tgz([file("1", "a file"), dir("1")]), ['"1/"', "twice"]);
    await expectRefused(await tgz([file("1", "a file"), file("1/model.onnx", "m")]), ['"1/model.onnx"', "folder"]);
    await expectRefused(await zip([file("a/b.txt", "1"), file("a//b.txt", "2")]), ["twice"], undefined, "m.zip");
    // The same folder listed twice is harmless.
    const { tree } = await extractBytes(await tgz([dir("1"), dir("1/"), file("1/m", "m")]));
    expect(text(tree, "1/m")).toBe("m");
  });

  it("devices and FIFOs", async () => {
    await expectRefused(Buffer.concat([tarEntry({ name: "fifo", typeflag: "6" }), tarEnd()]), ['"fifo"', "FIFO"]);
    await expectRefused(Buffer.concat([tarEntry({ name: "null", typeflag: "3" }), tarEnd()]), ["character device"]);
  });
});

/** A header whose size field is smaller than the data that follows. */
function encodeShortHeader(name: string, size: number): Buffer {
  return tarEntry({ name, size }).subarray(0, 512);
}

describe("extraction is all-or-nothing", () => {
  it("writes into a temporary dot-folder and renames it into place", async () => {
    const [archive, dest] = await place(await tgz([file("a.txt", "a")]));
    const result = await extractArchive(archive, dest);
    expect(result.dir).toBe(dest);
    expect((await readdir(join(dest, ".."))).sort()).toEqual(["model.tar.gz", "out"]);
    expect((await stat(dest)).mode & 0o777).toBe(0o755);
  });

  it("a refusal halfway leaves no destination (files written before it are removed)", async () => {
    const bytes = await tgz([file("1/model.onnx", "m"), file("2/model.onnx", "m"), file("../evil", "e")]);
    await expectRefused(bytes, ['"../evil"']);
  });

  it("into an existing folder, moves the entries in and refuses names already there", async () => {
    const [archive, dest] = await place(await tgz([file("model.onnx", "m")]));
    await mkdir(dest);
    await writeFile(join(dest, "keep.txt"), "k");
    const result = await extractArchive(archive, dest);
    expect(result.root).toBe(dest);
    expect((await readdir(dest)).sort()).toEqual(["keep.txt", "model.onnx"]);
    await expect(extractArchive(archive, dest)).rejects.toThrow(/model.onnx is already there/);
  });
});

describe("limits", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("default to 4 GiB and 10,000 entries; the environment and explicit values override", () => {
    expect(resolveExtractLimits({}, {})).toEqual({ maxBytes: 4 * 1024 ** 3, maxFiles: 10_000 });
    expect(DEFAULT_EXTRACT_LIMITS).toEqual({ maxBytes: 4 * 1024 ** 3, maxFiles: 10_000 });
    const env = { TSERVE_EXTRACT_MAX_BYTES: "1000", TSERVE_EXTRACT_MAX_FILES: "7", TSERVE_EXTRACT_MAX_ENTRY_BYTES: "10" };
    expect(resolveExtractLimits({}, env)).toEqual({ maxBytes: 1000, maxFiles: 7, maxEntryBytes: 10 });
    expect(resolveExtractLimits({ maxFiles: 3 }, env).maxFiles).toBe(3);
    expect(() => resolveExtractLimits({}, { TSERVE_EXTRACT_MAX_FILES: "lots" })).toThrow(/TSERVE_EXTRACT_MAX_FILES/);
  });

  it("extractArchive reads TSERVE_EXTRACT_MAX_FILES from the environment", async () => {
    process.env.TSERVE_EXTRACT_MAX_FILES = "2";
    await expectRefused(await tgz([file("a", "1"), file("b", "2"), file("c", "3")]), ["more than 2 entries"]);
  });
});

describe("entry paths", () => {
  it("normalises harmless forms and refuses the rest", () => {
    expect(safeEntryPath("./1/model.onnx", "a")).toBe("1/model.onnx");
    expect(safeEntryPath("1//model.onnx", "a")).toBe("1/model.onnx");
    expect(safeEntryPath("./", "a")).toBe("");
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "C:/x", "c:x", "a\\b", "a\0b", ".."]) {
      expect(() => safeEntryPath(bad, "a"), bad).toThrow(/Refusing a: entry/);
    }
  });
});

describe("pack", () => {
  let src: string;
  beforeAll(async () => {
    src = join(work, "pack-src");
    const deep = `${"v".repeat(80)}/${"w".repeat(80)}/${"z".repeat(90)}`;
    await mkdir(join(src, "1", deep), { recursive: true });
    await mkdir(join(src, "2"), { recursive: true });
    await mkdir(join(src, "empty"), { recursive: true });
    const random = Buffer.alloc(200_000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    await writeFile(join(src, "1", "model.onnx"), random);
    await writeFile(join(src, "2", "model.onnx"), Buffer.alloc(70_000, 9));
    await writeFile(join(src, "1", deep, "nested.bin"), "deep");
    await writeFile(join(src, "model-settings.json"), '{"runtime":"onnx"}');
    await writeFile(join(src, "données-ü.txt"), "unicode name");
    await writeFile(join(src, "empty.txt"), "");
    await writeFile(join(src, "start.sh"), "#!/bin/sh\n");
    await chmod(join(src, "start.sh"), 0o755);
  });

  it("round-trips byte for byte through every format", async () => {
    const original = await readTree(src);
    for (const name of ["m.tar.gz", "m.tgz", "m.tar", "m.zip"]) {
      const out = join(work, `rt-${name}`);
      const packed = await packDirectory(src, out);
      expect(packed.files).toBe(7);
      const dest = join(work, `rt-out-${name}`);
      const result = await extractArchive(out, dest);
      expect(result.root).toBe(dest);
      const tree = await readTree(dest);
      expect([...tree.keys()].sort(), name).toEqual([...original.keys()].sort());
      for (const [p, v] of original) expect(tree.get(p), `${name}: ${p}`).toEqual(v);
      expect((await stat(join(dest, "start.sh"))).mode & 0o111).not.toBe(0);
    }
  });

  it("is deterministic: sorted entries, fixed times; the same folder gives the same bytes", async () => {
    const a = join(work, "det-a.tar.gz");
    const b = join(work, "det-b.tar.gz");
    const first = await packDirectory(src, a);
    await utimes(join(src, "1", "model.onnx"), new Date(), new Date(2001, 1, 1));
    await packDirectory(src, b);
    expect(await readFile(a)).toEqual(await readFile(b));
    expect(first.entries.map((e) => e.path)).toEqual([...first.entries.map((e) => e.path)].sort());
    const za = await packDirectory(src, join(work, "det-a.zip"));
    const zb = await packDirectory(src, join(work, "det-b.zip"));
    expect(await readFile(za.output)).toEqual(await readFile(zb.output));
  });

  it("refuses symlinks and leaves no partial archive", async () => {
    const withLink = join(work, "pack-link");
    await mkdir(join(withLink, "1"), { recursive: true });
    await writeFile(join(withLink, "1", "model.onnx"), "m");
    await fsSymlink("/etc/passwd", join(withLink, "1", "secret"));
    await expect(packDirectory(withLink, join(work, "link-out", "x.tar.gz"))).rejects.toThrow(/1\/secret is a symlink/);
    await expect(stat(join(work, "link-out", "x.tar.gz"))).rejects.toThrow();
  });

  it("does not pack its own output when it is written inside the folder", async () => {
    const inside = join(work, "pack-inside");
    await mkdir(inside);
    await writeFile(join(inside, "model.onnx"), "m");
    await packDirectory(inside, join(inside, "self.tar.gz"));
    const again = await packDirectory(inside, join(inside, "self.tar.gz"));
    expect(again.entries.map((e) => e.path)).toEqual(["model.onnx"]);
  });
});

describe("prepareModelPath", () => {
  it("unpacks an archive once into <cache>/models/<sha256> and reuses it", async () => {
    const cacheDir = join(work, "cache");
    const [archive] = await place(await tgz([dir("iris"), dir("iris/1"), file("iris/1/model.onnx", "m")]), "iris.tgz");
    const first = await prepareModelPath(archive, { cacheDir });
    expect(first).toMatch(new RegExp(`${cacheDir}/models/[0-9a-f]{64}/iris$`));
    expect(await readFile(join(first, "1", "model.onnx"), "utf8")).toBe("m");
    // A marker proves the second call reused the folder rather than unpacking again.
    await writeFile(join(first, "marker"), "x");
    const logs: string[] = [];
    expect(await prepareModelPath(archive, { cacheDir, log: (m) => logs.push(m) })).toBe(first);
    expect(await readFile(join(first, "marker"), "utf8")).toBe("x");
    expect(logs.join()).toContain("using");
    // The same bytes under another name share the folder.
    const [copy] = await place(await readFile(archive), "other-name.tar.gz");
    expect(await prepareModelPath(copy, { cacheDir })).toBe(first);
  });

  it("uses TSERVE_CACHE_DIR, and returns non-archives unchanged", async () => {
    const saved = process.env.TSERVE_CACHE_DIR;
    process.env.TSERVE_CACHE_DIR = join(work, "env-cache");
    try {
      const [archive] = await place(await zip([file("model.onnx", "z")]), "m.zip");
      const root = await prepareModelPath(archive);
      expect(root.startsWith(join(work, "env-cache", "models"))).toBe(true);
      expect(await readFile(join(root, "model.onnx"), "utf8")).toBe("z");
    } finally {
      if (saved === undefined) delete process.env.TSERVE_CACHE_DIR;
      else process.env.TSERVE_CACHE_DIR = saved;
    }
    expect(await prepareModelPath(work)).toBe(work);
    const [onnx] = await place(Buffer.from("x"), "model.onnx");
    expect(await prepareModelPath(onnx)).toBe(onnx);
    expect(await prepareModelPath(join(work, "missing.tgz"))).toBe(join(work, "missing.tgz"));
  });

  it("refuses a malicious archive and caches nothing", async () => {
    const cacheDir = join(work, "cache-bad");
    const [archive] = await place(await tgz([file("../x", "e")]), "bad.tgz");
    await expect(prepareModelPath(archive, { cacheDir })).rejects.toThrow(/"\.\.\/x"/);
    expect(await readdir(join(cacheDir, "models"))).toEqual([]);
  });
});
