import { InvalidInput } from "../../errors/index.ts";

/**
 * Turns an archive entry's name into a safe relative POSIX path inside the extraction folder, or throws
 * InvalidInput naming the entry: absolute paths, `..`, Windows drive letters or backslashes, and NUL bytes are
 * refused. Returns "" for the archive's root itself (`./`).
 */
export function safeEntryPath(raw: string, archive: string): string {
  const fail = (why: string): never => {
    throw new InvalidInput(`Refusing ${archive}: entry ${JSON.stringify(raw)} ${why}`);
  };
  if (raw.includes("\0")) fail("contains a NUL byte");
  if (raw.includes("\\")) fail("has a backslash (a Windows path); archive paths use '/'");
  if (/^[a-zA-Z]:/.test(raw)) fail("has a Windows drive letter");
  if (raw.startsWith("/")) fail("is an absolute path");
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") fail("climbs out of the folder with '..'");
    parts.push(part);
  }
  return parts.join("/");
}

/**
 * Resolves a symlink's target, relative to the link's own folder, to a path inside the archive; undefined when
 * it points outside the folder (absolute, or climbing above the root).
 */
export function resolveLinkTarget(linkPath: string, target: string): string | undefined {
  if (target.startsWith("/") || target.includes("\\") || /^[a-zA-Z]:/.test(target) || target.includes("\0")) return undefined;
  const parts = linkPath.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}
