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
  // A write killed before its rename leaves its temporary file behind: remove those of dead processes.
  removeStaleTemps(target);
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

/** True when process `pid` exists on this machine and is not a zombie (a killed process not yet reaped). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) succeeded
  }
}

/**
 * Removes the temporary files that `writeFileAtomic` left beside `file` when a write was killed between creating
 * its temporary file and renaming it (`.<name>.<pid>.<time>.tmp`), when the writing process is gone. Called by
 * saveCheckpoint and loadCheckpoint; returns the paths removed.
 */
export function removeStaleTemps(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\.${base}\\.(\\d+)\\.\\d+${ATOMIC_TMP_SUFFIX.replace(".", "\\.")}$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = re.exec(n);
    // Our own pid: writes are synchronous, so no write of ours is in progress while this runs.
    if (!m || (Number(m[1]) !== process.pid && processAlive(Number(m[1])))) continue;
    const f = path.join(dir, n);
    fs.rmSync(f, { force: true });
    removed.push(f);
  }
  return removed;
}
