/**
 * Where the ablation results live and how they are written: `data/results/ablations/<name>.json` (settings, seeds,
 * sample counts, backend, wall time, every row) and `<name>.csv` (the rows), so that every committed number can be
 * traced to the run that produced it.
 *
 * Full-mode runs (tools/ablations.ts, or a notebook in full mode) write these files. A notebook in full mode REUSES
 * a result file whose recorded settings equal the ones it asks for (so opening the notebook does not redo 20 minutes
 * of sampling); `SCORE_SDE_RECOMPUTE=1` forces a recomputation. Quick mode never reads or writes them.
 * Every file is written atomically (lib/io), so a run killed mid-write leaves the previous complete file; a file that
 * is nevertheless unreadable (truncated by hand, bad merge) is reported by name with what to do.
 *
 * `SCORE_SDE_RESULTS_DIR` points the results (and the stored ablation models) elsewhere, e.g. a temporary folder for
 * a check run that must not touch the committed files.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { readJsonFile, writeFileAtomic } from "../lib/io";

/** The repository root: the nearest folder above this file with the project's package.json. */
export function repoRoot(): string {
  const tryFrom = (start: string): string | undefined => {
    let dir = start;
    for (let i = 0; i < 8; i++) {
      const p = path.join(dir, "package.json");
      if (fs.existsSync(p)) {
        try {
          if ((JSON.parse(fs.readFileSync(p, "utf8")) as { name?: string }).name === "score-sde-ts") return dir;
        } catch {
          /* keep looking */
        }
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    return undefined;
  };
  const r = tryFrom(__dirname) ?? tryFrom(process.cwd());
  if (!r) throw new Error("repoRoot: no score-sde-ts package.json above " + __dirname + " or " + process.cwd());
  return r;
}

export function resultsDir(): string {
  const custom = (process.env.SCORE_SDE_RESULTS_DIR ?? "").trim();
  return custom ? path.resolve(custom) : path.join(repoRoot(), "data", "results", "ablations");
}

export function figuresDir(): string {
  return path.join(repoRoot(), "figures", "ablations");
}

export interface ResultFile<P> {
  experiment: string;
  /** Everything that determines the numbers (sizes, seeds, distribution, sampler settings). */
  settings: unknown;
  backend: string;
  createdAt: string;
  wallSeconds: number;
  payload: P;
}

export function recomputeForced(): boolean {
  const v = (process.env.SCORE_SDE_RECOMPUTE ?? "").trim().toLowerCase();
  return v === "1" || v === "true" || v === "yes";
}

/** The stored result of `name` if its settings equal `settings` (deep, via JSON), else undefined. */
/** Where a family of experiments keeps its results, and how a reader regenerates a bad file. */
export interface ResultStore {
  dir: string;
  /** What the files are and how to regenerate them, for error messages. */
  what: string;
}

/** The ablations' store (notebooks 03–05): data/results/ablations, or SCORE_SDE_RESULTS_DIR. */
export function ablationStore(): ResultStore {
  return { dir: resultsDir(), what: "ablation result (regenerate it with `npm run ablations`)" };
}

export function loadResult<P>(name: string, settings: unknown, store: ResultStore = ablationStore()): ResultFile<P> | undefined {
  const f = path.join(store.dir, `${name}.json`);
  if (!fs.existsSync(f)) return undefined;
  const r = readJsonFile<ResultFile<P>>(f, store.what);
  return JSON.stringify(r.settings) === JSON.stringify(settings) ? r : undefined;
}

/** Writes `<name>.json` (everything) and one CSV per table in `tables` (`<name>.csv` or `<name>_<key>.csv`). */
export function saveResult<P>(
  name: string,
  r: ResultFile<P>,
  tables: Record<string, readonly Record<string, unknown>[]>,
  store: ResultStore = ablationStore(),
): string[] {
  const dir = store.dir;
  const out: string[] = [];
  const jf = path.join(dir, `${name}.json`);
  writeFileAtomic(jf, JSON.stringify(r, null, 1) + "\n");
  out.push(jf);
  for (const [key, rows] of Object.entries(tables)) {
    const cf = path.join(dir, key === "" ? `${name}.csv` : `${name}_${key}.csv`);
    writeFileAtomic(cf, toCsv(rows));
    out.push(cf);
  }
  return out;
}

export function toCsv(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return "";
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cellOf = (v: unknown): string => {
    if (v === undefined || v === null) return "";
    const s = typeof v === "number" ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cellOf(r[c])).join(","))].join("\n") + "\n";
}

export interface Cached<P> {
  result: ResultFile<P>;
  reused: boolean;
  files: string[];
}

/**
 * Computes a result, or reuses the stored one (full mode only, matching settings, not forced). Quick mode always
 * computes and never writes. Returns the result and whether it was reused.
 */
export async function cachedResult<P>(
  name: string,
  settings: unknown,
  quick: boolean,
  compute: () => Promise<P>,
  tables: (p: P) => Record<string, readonly Record<string, unknown>[]>,
  store: ResultStore = ablationStore(),
): Promise<Cached<P>> {
  if (!quick && !recomputeForced()) {
    const r = loadResult<P>(name, settings, store);
    if (r) return { result: r, reused: true, files: [] };
  }
  const t0 = Date.now();
  const payload = await compute();
  const result: ResultFile<P> = {
    experiment: name,
    settings,
    backend: tf.getBackend(),
    createdAt: new Date().toISOString(),
    wallSeconds: (Date.now() - t0) / 1000,
    payload,
  };
  const files = quick ? [] : saveResult(name, result, tables(payload), store);
  return { result, reused: false, files };
}
