/** Small file-system helpers the archive and download code share. */
import { access } from "node:fs/promises";

/** Whether anything (file, folder, link) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
