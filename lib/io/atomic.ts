/**
 * Files that are never seen half-written. Every file the project writes goes through `writeFileAtomic`: the bytes
 * go to a temporary name in the same folder, are fsync'ed, renamed over the target and the folder is fsync'ed, so a
 * crash or SIGKILL at any moment leaves either the previous complete file or the new complete one.
 *
 * `readJsonFile` is the reading side: a missing, empty, truncated or otherwise invalid JSON file is reported with its
 * path and what to do, never as a bare `SyntaxError`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Prefix and suffix of the temporary files `writeFileAtomic` creates (`.<name>.<pid>.<time>.tmp`). */
export const ATOMIC_TMP_SUFFIX = ".tmp";

/** Writes `data` to `file` atomically (temp file + fsync + rename + fsync of the folder). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  if (typeof file !== "string" || file.length === 0) {
    throw new RangeError(`writeFileAtomic: file = ${JSON.stringify(file)} is not allowed; file must be a non-empty path`);
  }
  const target = path.resolve(file);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    throw new RangeError(`writeFileAtomic: file = ${JSON.stringify(file)} is a directory; file must be a path to a file`);
  }
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}${ATOMIC_TMP_SUFFIX}`);
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  // Make the rename itself durable. Some file systems refuse fsync on a directory; the rename is still atomic.
  try {
    const dfd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* directory fsync unsupported: nothing more to do */
  }
}

/** `JSON.stringify(value, null, indent)` plus a final newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown, indent = 1): void {
  writeFileAtomic(file, JSON.stringify(value, null, indent) + "\n");
}

/**
 * Reads and parses a JSON file. `what` says what the file is ("ablation result", "notebook", …) and appears in every
 * error, together with the path and what to do about it.
 */
export function readJsonFile<T = unknown>(file: string, what: string): T {
  let text: string;
  try {
    if (fs.statSync(file).isDirectory()) {
      throw new RangeError(`${what} ${JSON.stringify(file)} is a directory, not a JSON file`);
    }
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof RangeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${what} ${JSON.stringify(file)} does not exist`);
    throw new Error(`${what} ${JSON.stringify(file)} cannot be read (${code ?? String(e)})`);
  }
  if (text.trim().length === 0) {
    throw new Error(`${what} ${JSON.stringify(file)} is empty (an interrupted write?); delete it and regenerate it, or restore it with git`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(
      `${what} ${JSON.stringify(file)} is not valid JSON (${(e as Error).message}; ${text.length} bytes, truncated or corrupt); ` +
        "delete it and regenerate it, or restore it with git",
    );
  }
}
