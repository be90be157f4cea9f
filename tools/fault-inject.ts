/**
 * Fault injection (issue #12): kills the project's long-running tools at random moments, in a loop, and checks that
 * nothing was lost and nothing was left behind.
 *
 *   1. Training (a small toy MLP, VP, checkpoint every 5 steps): a child trainer is SIGKILLed after a random number
 *      of steps plus a random delay, then restarted on the same checkpoint path, until it completes. The final
 *      history and weights must equal, bit for bit, those of an uninterrupted run; the stale lock of each killed
 *      run must be taken over; no temporary file, lock or process may remain.
 *   2. The notebook runner (tools/notebooks/run.js, quick mode, a scratch notebook whose cells sleep): SIGINT,
 *      SIGTERM or SIGKILL at a random moment (kernel start-up or mid-cell). Afterwards no kernel process (the process
 *      table, by the run's private TMPDIR), no kernel temporary folder, the notebook byte for byte as before, and any
 *      executed copy a complete notebook; a final uninterrupted run must succeed.
 *   3. The ablation result writer (notebooks/experiments/results.ts saveResult, into a scratch SCORE_SDE_RESULTS_DIR), writing
 *      a 20,000-row result again and again: SIGKILL at a random moment. Afterwards the JSON and the CSV must each be
 *      one complete version (the CSV may be one version behind: it is written second), temporary files of killed
 *      writes are counted and removed.
 *
 *   npm run fault-inject -- [--kills=20] [--seed=1] [--only=train,runner,writer] [--json=FILE]
 * Kills are split 8 / 6 / 6 for 20 (proportionally otherwise). Nothing in the repository is touched: everything runs
 * in a temporary folder, removed at the end. Exit status 0 when every check held, 1 otherwise (each failure named).
 * Takes a few minutes (kernel start-ups dominate); not part of `npm test`, whose test/notebook-runner.test.ts and
 * test/train-resume.test.ts check each mechanism once.
 */
import { execFileSync } from "node:child_process";
import { startChild as start, type Child } from "./child";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { readJsonFile, writeJsonAtomic } from "../lib/io";
import { createToyMLP } from "../lib/models/mlp";
import { createRng } from "../lib/random";
import { VPSDE } from "../lib/sde";
import { eightGaussians } from "../lib/toy";
import { loadCheckpoint, processAlive, removeStaleTemps, toyBatchSource, train } from "../lib/train";

const ROOT = path.resolve(__dirname, "..");
const TRAIN_STEPS = 150;

// ---------------------------------------------------------------------------------------------------------------
// Child modes (the processes that get killed).

async function childTrain(ck: string): Promise<void> {
  await initBackend({ quiet: true });
  const model = createToyMLP({ width: 32, depth: 2, embedding: "positional", embeddingDim: 16, seed: 7 });
  await train({
    model,
    sde: new VPSDE(),
    batchSource: toyBatchSource(eightGaussians(), 64),
    steps: TRAIN_STEPS,
    seed: 3,
    optimizer: { lr: 2e-3, warmup: 10 },
    emaDecay: 0.99,
    progress: false,
    meta: { dist: "8gaussians", batchSize: 64 },
    checkpoint: { path: ck, every: 5 },
    onStep: (s) => process.stdout.write(`step ${s.step}\n`),
  });
}

async function childWrite(): Promise<void> {
  const { saveResult } = await import("../notebooks/experiments/results");
  for (let version = 1; ; version++) {
    const rows = Array.from({ length: 20000 }, (_, i) => ({ version, i, value: Math.sin(version * 1e-3 + i) }));
    const sum = rows.reduce((s, r) => s + r.value, 0);
    saveResult("fault", { experiment: "fault", settings: { version }, backend: "none", createdAt: "", wallSeconds: 0, payload: { version, sum, rows } }, { "": rows });
    process.stdout.write(`version ${version}\n`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The driver.

interface Args {
  kills: number;
  seed: number;
  only: Set<string>;
  json?: string;
}
function parseArgs(argv: string[]): Args {
  const a: Args = { kills: 20, seed: 1, only: new Set(["train", "runner", "writer"]) };
  for (const s of argv) {
    const [k, v] = s.split("=", 2);
    if (k === "--kills" && Number.isInteger(Number(v)) && Number(v) >= 3) a.kills = Number(v);
    else if (k === "--seed" && Number.isInteger(Number(v)) && Number(v) >= 0) a.seed = Number(v);
    else if (k === "--only" && v && v.split(",").every((x) => ["train", "runner", "writer"].includes(x))) a.only = new Set(v.split(","));
    else if (k === "--json" && v) a.json = path.resolve(v);
    else {
      console.error(`fault-inject: bad argument ${s}; allowed: --kills=N (N ≥ 3), --seed=N (≥ 0), --only=train,runner,writer, --json=FILE`);
      process.exit(2);
    }
  }
  return a;
}

interface Report {
  kills: { train: number; runner: Record<string, number>; writer: number };
  filesChecked: number;
  staleLocksTakenOver: number;
  staleTempFilesRemoved: number;
  trainingBitIdentical?: boolean;
  trainingSteps?: number;
  failures: string[];
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startChild(args: string[], env: NodeJS.ProcessEnv = {}, cmd = process.execPath): Child {
  return start(cmd, args, { cwd: ROOT, env });
}
/** This script again, under ts-node (transpile only), in a child mode. */
const selfArgs = (...mode: string[]) => ["-r", "ts-node/register/transpile-only", __filename, ...mode];

async function until(cond: () => boolean, seconds: number): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > seconds * 1000) return false;
    await sleep(100);
  }
  return true;
}

const stepsSeen = (c: Child) => (c.out().match(/^step \d+$/gm) ?? []).length;

function processesWith(needle: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(needle) && !/^\s*\d+\s+Z/.test(l) && !l.includes("ps -eo"));
}

async function faultTrain(dir: string, kills: number, rand: () => number, rep: Report): Promise<void> {
  const ck = path.join(dir, "train", "toy.ckpt");
  const refCk = path.join(dir, "train-ref", "toy.ckpt");
  const pids: number[] = [];
  // The uninterrupted reference, as a child like the others.
  const ref = startChild(selfArgs("--child=train", refCk));
  const r0 = await ref.exited;
  if (r0.code !== 0) throw new Error(`reference training failed: ${ref.out()}`);
  for (let k = 0; k < kills; k++) {
    const c = startChild(selfArgs("--child=train", ck));
    pids.push(c.proc.pid!);
    const target = 1 + Math.floor(rand() * 25);
    const finished = { v: false };
    c.exited.then(() => (finished.v = true));
    if (!(await until(() => stepsSeen(c) >= target || finished.v, 120))) throw new Error(`trainer did no step in 120 s: ${c.out()}`);
    if (finished.v) break; // it completed before this kill
    await sleep(Math.floor(rand() * 40));
    c.proc.kill("SIGKILL");
    await c.exited;
    rep.kills.train++;
    if (/took over the stale lock of pid \d+/.test(c.out())) rep.staleLocksTakenOver++;
  }
  const last = startChild(selfArgs("--child=train", ck));
  pids.push(last.proc.pid!);
  const r1 = await last.exited;
  if (r1.code !== 0) rep.failures.push(`train: the final resume failed (${r1.code}): ${last.out().slice(-2000)}`);
  if (/took over the stale lock of pid \d+/.test(last.out())) rep.staleLocksTakenOver++;
  const a = loadCheckpoint(ck);
  const b = loadCheckpoint(refCk);
  rep.filesChecked += 2;
  rep.trainingSteps = a.step;
  const same =
    a.step === b.step &&
    JSON.stringify(a.losses) === JSON.stringify(b.losses) &&
    a.params.every((p, i) => Buffer.compare(Buffer.from(p.buffer), Buffer.from(b.params[i].buffer)) === 0) &&
    JSON.stringify(a.rng) === JSON.stringify(b.rng);
  rep.trainingBitIdentical = same;
  if (!same) rep.failures.push(`train: the killed-and-resumed run differs from the uninterrupted one (step ${a.step} vs ${b.step})`);
  for (const pid of pids) if (processAlive(pid)) rep.failures.push(`train: trainer pid ${pid} is still running`);
  const left = fs.readdirSync(path.dirname(ck)).filter((f) => f !== "toy.ckpt");
  if (left.length) rep.failures.push(`train: files left beside the checkpoint: ${left.join(", ")}`);
}

function notebookText(): string {
  const cells = ["1 + 1", "await new Promise((r) => setTimeout(r, 1500)); 'slept'", "console.log('done')"];
  return (
    JSON.stringify(
      {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: cells.map((source, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
      },
      null,
      1,
    ) + "\n"
  );
}

async function faultRunner(dir: string, kills: number, rand: () => number, rep: Report): Promise<void> {
  const nbDir = path.join(dir, "runner");
  const tmp = path.join(nbDir, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  const file = path.join(nbDir, "fault.ipynb");
  const committed = notebookText();
  fs.writeFileSync(file, committed);
  const { readNotebook } = require(path.join(ROOT, "tools", "notebooks", "nbfile.js"));
  const check = async (what: string, child: Child) => {
    const clean = await until(() => processesWith(tmp).length === 0 && fs.readdirSync(tmp).every((f) => !f.startsWith("score-sde-kernel-")), 20);
    if (!clean) rep.failures.push(`runner (${what}): left ${processesWith(tmp).length} kernel process(es) / folders ${fs.readdirSync(tmp).join(", ")}:\n${child.out().slice(-1500)}`);
    if (processAlive(child.proc.pid!)) rep.failures.push(`runner (${what}): the runner is still running`);
    if (fs.readFileSync(file, "utf8") !== committed) rep.failures.push(`runner (${what}): the notebook changed`);
    rep.filesChecked++;
    const exDir = path.join(nbDir, ".executed");
    for (const f of fs.existsSync(exDir) ? fs.readdirSync(exDir) : []) {
      try {
        readNotebook(path.join(exDir, f));
        rep.filesChecked++;
      } catch (e) {
        rep.failures.push(`runner (${what}): ${(e as Error).message}`);
      }
    }
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGKILL"];
  for (let k = 0; k < kills; k++) {
    const sig = signals[k % 3];
    const c = startChild([path.join(ROOT, "tools", "notebooks", "run.js"), "--quick", "--no-figures", file], { TMPDIR: tmp, SCORE_SDE_QUICK: "" });
    // A random moment between the start (runner or kernel start-up) and the end of the last cell.
    await Promise.race([sleep(1000 + rand() * 15000), c.exited]);
    const done = c.proc.exitCode !== null;
    if (!done) {
      c.proc.kill(sig);
      rep.kills.runner[sig] = (rep.kills.runner[sig] ?? 0) + 1;
    }
    await c.exited;
    await check(done ? "completed before the kill" : sig, c);
  }
  const final = startChild([path.join(ROOT, "tools", "notebooks", "run.js"), "--quick", "--no-figures", file], { TMPDIR: tmp, SCORE_SDE_QUICK: "" });
  const r = await final.exited;
  if (r.code !== 0) rep.failures.push(`runner: the final uninterrupted run failed (${r.code}): ${final.out().slice(-2000)}`);
  await check("final run", final);
}

async function faultWriter(dir: string, kills: number, rand: () => number, rep: Report): Promise<void> {
  const resDir = path.join(dir, "results");
  const pids: number[] = [];
  for (let k = 0; k < kills; k++) {
    const c = startChild(selfArgs("--child=write"), { SCORE_SDE_RESULTS_DIR: resDir });
    pids.push(c.proc.pid!);
    if (!(await until(() => /version \d+/.test(c.out()) || c.proc.exitCode !== null, 120))) throw new Error(`result writer wrote nothing in 120 s: ${c.out()}`);
    await sleep(rand() * 1500);
    c.proc.kill("SIGKILL");
    await c.exited;
    rep.kills.writer++;
    const json = readJsonFile<{ payload: { version: number; sum: number; rows: { version: number; value: number }[] } }>(path.join(resDir, "fault.json"), "result");
    const p = json.payload;
    const sum = p.rows.reduce((s, r) => s + r.value, 0);
    if (p.rows.length !== 20000 || p.rows.some((r) => r.version !== p.version) || sum !== p.sum) rep.failures.push(`writer: fault.json after kill ${k + 1} is inconsistent`);
    const csv = fs.readFileSync(path.join(resDir, "fault.csv"), "utf8");
    const lines = csv.split("\n");
    const csvVersion = Number(lines[1]?.split(",")[0]);
    if (lines.length !== 20002 || lines[20001] !== "" || !(csvVersion === p.version || csvVersion === p.version - 1)) {
      rep.failures.push(`writer: fault.csv after kill ${k + 1} is incomplete or stale (${lines.length} lines, version ${csvVersion} vs JSON ${p.version})`);
    }
    rep.filesChecked += 2;
    for (const f of ["fault.json", "fault.csv"]) rep.staleTempFilesRemoved += removeStaleTemps(path.join(resDir, f)).length;
  }
  for (const pid of pids) if (processAlive(pid)) rep.failures.push(`writer: pid ${pid} is still running`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mode = argv.find((a) => a.startsWith("--child="));
  if (mode === "--child=train") return childTrain(argv[argv.indexOf(mode) + 1]);
  if (mode === "--child=write") return childWrite();
  const args = parseArgs(argv);
  const t0 = Date.now();
  const rng = createRng(args.seed);
  const rand = () => rng.uniformArray(1)[0];
  const parts = ["train", "runner", "writer"].filter((p) => args.only.has(p));
  const share: Record<string, number> = { train: 8, runner: 6, writer: 6 };
  const total = parts.reduce((s, p) => s + share[p], 0);
  const kills = Object.fromEntries(parts.map((p) => [p, Math.max(1, Math.round((args.kills * share[p]) / total))]));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-fault-"));
  const rep: Report = { kills: { train: 0, runner: {}, writer: 0 }, filesChecked: 0, staleLocksTakenOver: 0, staleTempFilesRemoved: 0, failures: [], seconds: 0 };
  try {
    if (kills.train) {
      console.log(`[fault-inject] training: up to ${kills.train} SIGKILLs, then a final resume to step ${TRAIN_STEPS}`);
      await faultTrain(dir, kills.train, rand, rep);
    }
    if (kills.runner) {
      console.log(`[fault-inject] notebook runner: ${kills.runner} SIGINT / SIGTERM / SIGKILL at random moments, then a full run`);
      await faultRunner(dir, kills.runner, rand, rep);
    }
    if (kills.writer) {
      console.log(`[fault-inject] ablation result writer: ${kills.writer} SIGKILLs at random moments`);
      await faultWriter(dir, kills.writer, rand, rep);
    }
  } catch (e) {
    rep.failures.push(`aborted: ${(e as Error).message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  rep.seconds = Math.round((Date.now() - t0) / 1000);
  const runnerKills = Object.values(rep.kills.runner).reduce((s, n) => s + n, 0);
  const all = rep.kills.train + runnerKills + rep.kills.writer;
  console.log(
    `[fault-inject] ${all} kills survived (training ${rep.kills.train}, runner ${runnerKills} ${JSON.stringify(rep.kills.runner)}, result writer ${rep.kills.writer}); ` +
      `${rep.filesChecked} files checked; ${rep.staleLocksTakenOver} stale locks taken over; ${rep.staleTempFilesRemoved} temporary files of killed writes removed; ` +
      `training resumed bit-identically: ${rep.trainingBitIdentical ?? "not run"}; ${rep.seconds} s`,
  );
  if (args.json) writeJsonAtomic(args.json, rep);
  if (rep.failures.length) {
    console.error(`[fault-inject] ${rep.failures.length} failure(s):\n  ${rep.failures.join("\n  ")}`);
    process.exit(1);
  }
  console.log("[fault-inject] nothing lost, nothing left behind");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
