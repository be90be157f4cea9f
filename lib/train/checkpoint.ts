/**
 * Resumable training checkpoints: model weights, EMA weights, optimiser state, step, RNG state, configuration and
 * the loss history, in one file.
 *
 * File layout: a one-line header `score-sde-ts-checkpoint v1 sha256=<hex> bytes=<n>` and then a JSON body of
 * exactly n bytes whose SHA-256 is given. Float arrays are stored as base64 of little-endian float32, so a restored
 * run continues bit for bit. A truncated file (fewer bytes), a corrupt one (checksum), a file of another kind
 * (header), or weights for another architecture (config, names, shapes) each give an error that says which.
 *
 * Writes are atomic: the file is written to a temporary name in the same folder, fsync'ed, renamed over the target
 * and the folder fsync'ed, so a crash (or SIGKILL) at any moment leaves either the previous complete checkpoint or
 * the new complete one, never a partial file under the real name.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { ScoreNetwork } from "../models/network";
import type { RngState } from "../random";
import { fail, fmt } from "../validate";
import { processAlive, removeStaleTemps, writeFileAtomic } from "../io/atomic";

export { processAlive, removeStaleTemps };

export { writeFileAtomic };

const MAGIC = "score-sde-ts-checkpoint";
const VERSION = 1;

export interface CheckpointData {
  /** Number of completed optimisation steps. */
  step: number;
  /** The network's getConfig() (architecture). */
  modelConfig: Record<string, unknown>;
  /**
   * Logical names and shapes of the network's state (`stateVariables`): the trainable variables first, then fixed
   * state such as Fourier frequencies.
   */
  variables: { name: string; shape: number[] }[];
  /** How many of `variables` are trainable (EMA and Adam hold arrays for these only). */
  trainableCount: number;
  /** Current (raw) values of every state variable. */
  params: Float32Array[];
  /** EMA shadow weights (trainable variables) and update count, when training keeps an EMA. */
  ema?: { decay: number; numUpdates: number; shadow: Float32Array[] };
  /** Adam configuration and state. */
  adam?: { config: Record<string, number>; step: number; m: Float32Array[]; v: Float32Array[] };
  /** State of the training RNG after `step` steps. */
  rng?: RngState;
  /** Training configuration (SDE, loss, optimiser, seed, …), for checks on resume and for the record. */
  config: Record<string, unknown>;
  /** Loss of every completed step (index = 0-based step). */
  losses?: number[];
}

function encode(arrs: readonly Float32Array[]): string[] {
  return arrs.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64"));
}

function decode(where: string, name: string, arrs: unknown, sizes: readonly number[]): Float32Array[] {
  if (!Array.isArray(arrs) || arrs.length !== sizes.length) fail(where, name, `${Array.isArray(arrs) ? arrs.length : typeof arrs} arrays`, `${sizes.length} arrays`);
  return arrs.map((s, i) => {
    if (typeof s !== "string") fail(where, `${name}[${i}]`, typeof s, "a base64 string");
    const buf = Buffer.from(s, "base64");
    if (buf.length !== sizes[i] * 4) fail(where, `${name}[${i}] bytes`, buf.length, `${sizes[i] * 4} (${sizes[i]} float32)`);
    const out = new Float32Array(sizes[i]);
    new Uint8Array(out.buffer).set(buf);
    return out;
  });
}

/** Saves a checkpoint atomically. */
export function saveCheckpoint(file: string, c: CheckpointData): void {
  const body = JSON.stringify({
    format: MAGIC,
    version: VERSION,
    step: c.step,
    modelConfig: c.modelConfig,
    variables: c.variables,
    trainableCount: c.trainableCount,
    config: c.config,
    rng: c.rng ?? null,
    losses: c.losses ?? null,
    params: encode(c.params),
    ema: c.ema ? { decay: c.ema.decay, numUpdates: c.ema.numUpdates, shadow: encode(c.ema.shadow) } : null,
    adam: c.adam ? { config: c.adam.config, step: c.adam.step, m: encode(c.adam.m), v: encode(c.adam.v) } : null,
  });
  const bytes = Buffer.from(body, "utf8");
  const sha = createHash("sha256").update(bytes).digest("hex");
  removeStaleTemps(file);
  writeFileAtomic(file, Buffer.concat([Buffer.from(`${MAGIC} v${VERSION} sha256=${sha} bytes=${bytes.length}\n`, "utf8"), bytes]));
}

/** Reads and verifies a checkpoint file (header, length, checksum, structure). */
export function loadCheckpoint(file: string): CheckpointData {
  const where = `loadCheckpoint(${file})`;
  if (!fs.existsSync(file)) throw new Error(`${where}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new Error(`${where}: is a directory; give the path of a checkpoint file`);
  removeStaleTemps(file);
  const raw = fs.readFileSync(file);
  const nl = raw.indexOf(10);
  const header = (nl >= 0 ? raw.subarray(0, nl) : raw.subarray(0, 200)).toString("utf8");
  const m = /^score-sde-ts-checkpoint v(\d+) sha256=([0-9a-f]{64}) bytes=(\d+)$/.exec(header);
  if (!m) throw new Error(`${where}: not a score-sde-ts checkpoint (the first line is ${fmt(header.slice(0, 80))}, expected "${MAGIC} v${VERSION} sha256=… bytes=…")`);
  if (Number(m[1]) !== VERSION) throw new Error(`${where}: checkpoint format version ${m[1]} is not supported (this library reads v${VERSION})`);
  const body = raw.subarray(nl + 1);
  const want = Number(m[3]);
  if (body.length < want) throw new Error(`${where}: checkpoint is truncated: ${body.length} of ${want} body bytes present`);
  if (body.length > want) throw new Error(`${where}: checkpoint is corrupt: ${body.length} body bytes, the header says ${want}`);
  const sha = createHash("sha256").update(body).digest("hex");
  if (sha !== m[2]) throw new Error(`${where}: checkpoint is corrupt: SHA-256 of the body is ${sha}, the header says ${m[2]}`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let j: any;
  try {
    j = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new Error(`${where}: checkpoint is corrupt: its body is not valid JSON (${(e as Error).message})`);
  }
  if (j?.format !== MAGIC || !Array.isArray(j.variables)) throw new Error(`${where}: checkpoint body has no ${MAGIC} structure`);
  const sizes: number[] = j.variables.map((v: { shape: number[] }) => v.shape.reduce((a, b) => a * b, 1));
  const nt = j.trainableCount;
  if (!Number.isInteger(nt) || nt < 0 || nt > sizes.length) throw new Error(`${where}: checkpoint is corrupt: trainableCount = ${fmt(nt)}`);
  const tsizes = sizes.slice(0, nt);
  return {
    step: j.step,
    modelConfig: j.modelConfig,
    variables: j.variables,
    trainableCount: nt,
    config: j.config,
    rng: j.rng ?? undefined,
    losses: j.losses ?? undefined,
    params: decode(where, "params", j.params, sizes),
    ema: j.ema ? { decay: j.ema.decay, numUpdates: j.ema.numUpdates, shadow: decode(where, "ema.shadow", j.ema.shadow, tsizes) } : undefined,
    adam: j.adam ? { config: j.adam.config, step: j.adam.step, m: decode(where, "adam.m", j.adam.m, tsizes), v: decode(where, "adam.v", j.adam.v, tsizes) } : undefined,
  };
}

/** Stable JSON (sorted keys) for comparing configurations. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Fields whose values differ between two configs, as "path: a vs b" (nested objects by dotted path, e.g.
 * "meta.batchSize: 512 vs 256"; a field missing on one side shows as undefined).
 */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
  const out: string[] = [];
  for (const k of keys) {
    const x = a?.[k];
    const y = b?.[k];
    if (canonical(x) === canonical(y)) continue;
    if (isPlainObject(x) && isPlainObject(y)) out.push(...configDiff(x, y, `${prefix}${k}.`));
    else out.push(`${prefix}${k}: ${canonical(x) ?? "undefined"} vs ${canonical(y) ?? "undefined"}`);
  }
  return out;
}

/** Config keys that do not define the architecture: the init seed (the fixed state it draws is stored too). */
// Settings that change no weight: the initialisation seed, and gradient checkpointing (memory against time; values
// equal to float32 rounding, so a run resumed with another setting continues within rounding, not bit for bit).
const NOT_ARCHITECTURE = ["seed", "gradientCheckpointing"];

/** Throws a clear error unless the checkpoint was written for this network's architecture. */
export function checkCompatible(c: CheckpointData, model: ScoreNetwork, file = "checkpoint"): void {
  const strip = (cfg: Record<string, unknown>) => Object.fromEntries(Object.entries(cfg ?? {}).filter(([k]) => !NOT_ARCHITECTURE.includes(k)));
  const diff = configDiff(strip(c.modelConfig), strip(model.getConfig()));
  if (diff.length) throw new Error(`${file}: written for another architecture (checkpoint vs this model): ${diff.join("; ")}`);
  const state = model.stateVariables;
  if (c.variables.length !== state.length || c.trainableCount !== model.trainableVariables.length) {
    throw new Error(
      `${file}: has ${c.variables.length} variables (${c.trainableCount} trainable), this model has ${state.length} ` +
        `(${model.trainableVariables.length} trainable): another architecture`,
    );
  }
  c.variables.forEach((v, i) => {
    const s = state[i];
    if (v.name !== s.name || canonical(v.shape) !== canonical(s.variable.shape)) {
      throw new Error(`${file}: variable ${i} is ${v.name} [${v.shape}], this model has ${s.name} [${s.variable.shape}] (another architecture)`);
    }
  });
}

/** The state table of a network, for CheckpointData.variables. */
export function variableTable(model: ScoreNetwork): { name: string; shape: number[] }[] {
  return model.stateVariables.map((s) => ({ name: s.name, shape: s.variable.shape.slice() }));
}

/** Assigns checkpoint values to every state variable of the network (fixed state included). */
export function assignState(model: ScoreNetwork, params: readonly Float32Array[]): void {
  tf.tidy(() => model.stateVariables.forEach((s, i) => s.variable.assign(tf.tensor(params[i], s.variable.shape, "float32"))));
}

/** Reads a variable's values (a copy). */
export function readVariable(v: tf.Variable): Float32Array {
  return v.dataSync().slice() as Float32Array;
}

/**
 * Loads the weights of a checkpoint into `model` for evaluation: the EMA weights (default, as the official
 * evaluation and sampling) or the raw ones. Checks the architecture first.
 */
export function loadWeightsInto(file: string, model: ScoreNetwork, opts: { ema?: boolean } = {}): CheckpointData {
  const c = loadCheckpoint(file);
  checkCompatible(c, model, file);
  const useEma = opts.ema ?? true;
  if (useEma && !c.ema) throw new Error(`${file}: has no EMA weights (pass { ema: false } for the raw weights)`);
  // Fixed state (e.g. Fourier frequencies) always from params; trainable weights from the EMA when asked.
  const src = useEma && c.ema ? [...c.ema.shadow, ...c.params.slice(c.trainableCount)] : c.params;
  assignState(model, src);
  return c;
}



/** Who holds a checkpoint lock (the JSON content of `<checkpoint>.lock`). */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  started: string;
  command: string;
  /** Random token telling two holders with the same pid apart. */
  token: string;
}

const describeHolder = (h: LockHolder) => `pid ${h.pid} on ${h.host}, started ${h.started}${h.command ? `: ${h.command}` : ""}`;

/** An exclusive claim on a checkpoint path (see lockCheckpoint); `release()` removes it. */
export interface CheckpointLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** A message when a stale lock (of a process that no longer runs) was taken over, else undefined. */
  readonly tookOver?: string;
  release(): void;
}

function readHolder(lockFile: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(lockFile, "utf8"));
    return h && typeof h.pid === "number" && typeof h.host === "string" ? (h as LockHolder) : undefined;
  } catch {
    return undefined; // gone meanwhile, or not a lock this library wrote
  }
}

/**
 * Claims `file` for one writer: creates `<file>.lock` exclusively (a complete file hard-linked to that name; link()
 * fails when the name exists) holding the pid, host, start time and command. A second trainer on the same path is refused with an error naming the holder. A lock whose process is
 * gone (same host, pid not running: a SIGKILLed run) is taken over, and `tookOver` says so. Creating the lock also
 * proves up front that the checkpoint's folder is writable (before any training is done). A lock from another host
 * cannot be checked and is refused; delete it by hand when that run is known to be gone.
 */
export function lockCheckpoint(file: string, where = "lockCheckpoint"): CheckpointLock {
  if (typeof file !== "string" || file === "") fail(where, "checkpoint.path", file, "a file path");
  const target = path.resolve(file);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    throw new Error(`${where}: checkpoint.path ${JSON.stringify(file)} is a directory; give the path of a checkpoint file inside it`);
  }
  const dir = path.dirname(target);
  const lockFile = `${target}.lock`;
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command: process.argv.slice(1).map((a) => path.basename(a)).join(" ").slice(0, 200),
    token: randomBytes(8).toString("hex"),
  };
  const cannotWrite = (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new Error(`${where}: cannot write the checkpoint ${JSON.stringify(file)}: the folder ${dir} is not writable (${code}); choose a writable checkpoint.path`);
  };
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    cannotWrite(e);
  }
  // Private files of an earlier lockCheckpoint killed mid-way (`<lock>.<pid>.<token>.new|.stale`), if that process is gone.
  const leftover = new RegExp(`^${path.basename(lockFile).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.[0-9a-f]+\\.(new|stale)$`);
  for (const n of fs.readdirSync(dir)) {
    const m = leftover.exec(n);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, n), { force: true });
  }
  let tookOver: string | undefined;
  for (let attempt = 0; ; attempt++) {
    // Written in full under a private name, then hard-linked to the lock name: link() fails when the name exists,
    // so the claim is exclusive, and a lock is never seen half-written.
    const mine = `${lockFile}.${process.pid}.${holder.token}.new`;
    try {
      fs.writeFileSync(mine, JSON.stringify(holder) + "\n");
    } catch (e) {
      cannotWrite(e);
    }
    try {
      try {
        fs.linkSync(mine, lockFile);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw e;
        // A file system without hard links: exclusive create instead.
        fs.writeFileSync(lockFile, JSON.stringify(holder) + "\n", { flag: "wx" });
      }
      fs.rmSync(mine, { force: true });
      break;
    } catch (e) {
      fs.rmSync(mine, { force: true });
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") cannotWrite(e);
    }
    const other = readHolder(lockFile);
    if (other && (other.host !== holder.host || processAlive(other.pid))) {
      const same = other.pid === process.pid && other.host === holder.host;
      throw new Error(
        `${where}: the checkpoint ${JSON.stringify(file)} is in use by ${same ? "this process (an earlier train() on the same path is still running; a notebook cell interrupted in tslab keeps running in the background: restart the kernel to stop it)" : "another trainer"} ` +
          `(${describeHolder(other)}); wait for it to finish or use another checkpoint.path` +
          (other.host !== holder.host ? ` (a lock from another host cannot be checked: delete ${lockFile} if that run is gone)` : ""),
      );
    }
    if (attempt >= 3) throw new Error(`${where}: could not take the lock ${lockFile} (it keeps changing); is another trainer starting on the same path?`);
    // Stale (its process is gone) or unreadable: move it aside under a unique name, then make sure what was moved is
    // the lock judged stale (another process may have taken it over meanwhile; then put it back).
    const aside = `${lockFile}.${process.pid}.${holder.token}.stale`;
    try {
      fs.renameSync(lockFile, aside);
    } catch {
      continue; // someone else moved it: try again
    }
    const moved = readHolder(aside);
    if (other && moved && moved.token !== other.token) {
      try {
        fs.linkSync(aside, lockFile);
      } catch {
        /* the path was taken again meanwhile: the next attempt reports its holder */
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.rmSync(aside, { force: true });
    tookOver = other
      ? `took over the stale lock of ${describeHolder(other)}, which is no longer running (${lockFile})`
      : `replaced the unreadable lock file ${lockFile}`;
  }
  let released = false;
  return {
    file: lockFile,
    holder,
    tookOver,
    release() {
      if (released) return;
      released = true;
      // Remove only our own lock.
      if (readHolder(lockFile)?.token === holder.token) fs.rmSync(lockFile, { force: true });
    },
  };
}
