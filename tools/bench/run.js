#!/usr/bin/env node
// score-sde-ts benchmark suite: every workload measured in tfjs (the library, as users call it) and in its
// PyTorch twin (tools/bench/torch_peer.py), on the same machine, in the same run, runs interleaved
// (tfjs, torch, torch, tfjs, …) so that machine load hits both sides alike and the ratio stays meaningful.
//
//   npm run bench                    full suite (tens of minutes on 2 cores)
//   npm run bench -- --quick         short version (fewer runs, 100 sampler steps instead of 1000: labelled)
//   options: --only=mlp_train,matmul   --threads=1,2   --runs=N   --no-peer   --out=path.json   --smoke
//            (a full run writes figures/bench/latest.json; quick, smoke and partial runs figures/quick/bench.json)
//            --image-config=data/configs/mnist-vp.json  the configuration of the image_* rows (MNIST training)
//            --settle=MS  pause before a run that follows the other process's (default 300; 0: none)
//            --wasm-kernels  also measure the library without its native oneDNN kernels (a third process with
//                          SCORE_SDE_NATIVE=0: wasm's own kernels; rows with variant "wasm-kernels"), interleaved
//
// Writes figures/bench/latest.json (an array of result rows, see `row` below; figures/quick/bench.json for a quick,
// smoke or partial run) and prints a table.
// Thread counts: each count gets its own tfjs process (wasm threads are fixed when the backend starts:
// SCORE_SDE_WASM_THREADS) and its own torch process (torch.set_num_threads + OMP_NUM_THREADS).
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");

const root = path.resolve(__dirname, "..", "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, dflt) => {
  const a = args.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
if (flag("help")) {
  console.log(fs.readFileSync(__filename, "utf8").split("\n").slice(1, 14).join("\n"));
  process.exit(0);
}
const quick = flag("quick");
// --smoke: tiny sizes, one run: checks that every workload still runs against the current library (a test, not
// a measurement; its numbers mean nothing).
const smoke = flag("smoke");
const only = opt("only", "") ? opt("only", "").split(",") : undefined;
const threadList = opt("threads", "1,2").split(",").map(Number);
const withPeer = !flag("no-peer");
const withWasmOnly = flag("wasm-kernels");
// Only a full run (every workload, the default runs, both thread counts, the PyTorch twin) replaces the committed
// figures/bench/latest.json. A quick, smoke or partial run writes figures/quick/bench.json (git-ignored) unless
// --out names a file: checking the speed must not overwrite the committed results with a shorter run.
const partial = quick || smoke || Boolean(only) || !withPeer || ["threads", "runs", "settle"].some((n) => args.some((a) => a.startsWith(`--${n}=`)));
const outFile = path.resolve(root, opt("out", partial ? path.join("figures", "quick", "bench.json") : path.join("figures", "bench", "latest.json")));

// ---------------------------------------------------------------------------------------------------------
// Workloads. `flops` (per run) where the count is known exactly enough to quote GFLOP/s.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-bench-"));
const weights = (name) => path.join(tmp, `${name}.weights.json`);
const toy = { depth: 3, embeddingDim: 32, sigmaMin: 0.01, sigmaMax: 50 };
// Forward matmul FLOPs of the toy MLP per example (input 2 + embedding, `depth` hidden layers, output 2).
const mlpFlops = (w, batch) => {
  const fwd = 2 * batch * ((2 + toy.embeddingDim) * w + (toy.depth - 1) * w * w + w * 2);
  return 3 * fwd; // forward + two backward products per layer
};
function likelihoodPoints(n) {
  // Fixed, seeded test points (a 2-D Gaussian blob): both sides read the same numbers.
  let s = 12345;
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  const x = [];
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const a = 2 * Math.PI * u();
    x.push(r * Math.cos(a), r * Math.sin(a));
  }
  return x;
}

const runs = (full, q) => Number(opt("runs", quick ? q : full));
// Pause before a run that follows the other process's (see the timing loop); --settle=0 turns it off. A smoke run
// measures nothing and does not pause.
const SETTLE_RAW = opt("settle", smoke ? "0" : "300");
if (!/^\d+(\.\d+)?$/.test(SETTLE_RAW)) {
  console.error(`bench: --settle must be a number of milliseconds >= 0, got "${SETTLE_RAW}"`);
  process.exit(2);
}
const SETTLE_MS = Number(SETTLE_RAW);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
// The MNIST training configuration (engineer-chosen U-Net size for a 2-core CPU), when present.
const IMAGE_CONFIG = opt("image-config", "data/configs/mnist-vp.json");
const WORKLOADS = [
  { workload: "matmul", label: "matMul 1024³ (ceiling)", params: { n: 1024 }, runs: runs(10, 5), flops: 2 * 1024 ** 3 },
  // The toy MLP's own product shape: the ceiling that matters for the MLP workloads.
  { workload: "matmul", label: "matMul 4096×256·256×256", params: { m: 4096, k: 256, n: 256 }, runs: runs(20, 8), flops: 2 * 4096 * 256 * 256 },
  {
    workload: "mlp_train",
    label: "toy MLP train step w128 b512",
    // A ~5 ms step timed alone measures wake-up costs (caches and OpenBLAS threads left cold by the other side's
    // run) more than the step; training runs steps back to back, so each run times 20 of them (both sides).
    params: { ...toy, width: 128, batch: 512, weights: weights("mlp128"), stepsPerRun: 20 },
    runs: runs(30, 10),
    flops: mlpFlops(128, 512),
  },
  {
    workload: "mlp_train",
    label: "toy MLP train step w256 b4096",
    params: { ...toy, width: 256, batch: 4096, weights: weights("mlp256") },
    runs: runs(10, 4),
    flops: mlpFlops(256, 4096),
  },
  {
    workload: "pc_sample",
    label: quick ? "PC sampling 10k pts, first 100 of 1000 steps (quick)" : "PC sampling 10k pts × 1000 steps",
    params: { ...toy, width: 128, n: 10000, N: 1000, steps: quick ? 100 : 1000, snr: 0.16, weights: weights("pc"), warmup: false },
    runs: runs(2, 1),
    // Two score evaluations per step (corrector + predictor), forward only.
    flops: (quick ? 100 : 1000) * 2 * (mlpFlops(128, 10000) / 3),
  },
  {
    workload: "likelihood",
    label: "ODE log-likelihood 1000 pts (RK45 1e-5, exact div.)",
    params: { ...toy, width: 128, rtol: 1e-5, atol: 1e-5, eps: 1e-5, x: likelihoodPoints(1000), weights: weights("ll"), warmup: false },
    runs: runs(3, 1),
  },
  { workload: "unet_forward", label: "U-Net forward 28×28 b64", params: { batch: 64, size: 28 }, runs: runs(10, 4) },
  // Quick mode keeps 5 runs of the train steps (and 7 of the MNIST one, 3 of the quick image sampling): with 3 runs
  // a median on this shared VM swung by 1.5x between quick runs (MNIST step at 1 thread: 236-348 ms in one run).
  // The library's default ("auto" gradient checkpointing) does not checkpoint at batch 64 (its estimate of the
  // step's memory is below half the wasm heap). The second row forces checkpointing on both sides (the twin wraps
  // the same blocks in torch.utils.checkpoint): the memory-saving mode, like for like.
  { workload: "unet_train", label: "U-Net train step 28×28 b64", params: { batch: 64, size: 28 }, runs: runs(5, 5) },
  {
    workload: "unet_train",
    label: "U-Net train step 28×28 b64, gradient checkpointing",
    params: { batch: 64, size: 28, checkpointing: true },
    runs: runs(5, 5),
  },
  // Image scale, on the MNIST training configuration (its SDE, U-Net, loss and optimiser; tools/bench/image_workloads.ts).
  ...(fs.existsSync(path.join(root, IMAGE_CONFIG)) ? [
    { workload: "image_train", label: `MNIST train step (${path.basename(IMAGE_CONFIG, ".json")}) 28×28 b64`, params: { config: IMAGE_CONFIG, size: 28, batch: 64 }, runs: runs(7, 7), items: 64 },
    {
      workload: "image_pc",
      label: quick ? "PC sampling 64 images 28×28, first 20 of 1000 steps (quick)" : "PC sampling 64 images 28×28 × 1000 steps",
      // Quick mode times only the first 20 steps: one untimed run first (the full run's 1000 steps amortise the
      // first steps, which cost PyTorch ~1.8× its steady-state step: primitive creation, allocator warm-up).
      params: { config: IMAGE_CONFIG, size: 28, n: 64, steps: quick ? 20 : 1000, snr: 0.16, warmup: quick },
      runs: runs(1, 3),
    },
    {
      workload: "image_likelihood",
      label: quick ? "ODE likelihood 16 images 28×28, Hutchinson, first 50 RK45 steps (quick)" : "ODE likelihood 16 images 28×28, Hutchinson (RK45 1e-5)",
      // Always warmed up: with its own random weights the library's RK45 takes ~80 evaluations here against the
      // twin's ~1000, so first-call costs (primitive creation, V8 compiling the VJP path) would weigh ~13× more
      // on the library's side of the per-evaluation ratio (full run 2026-12-02 without warm-up: 1.13×).
      params: { config: IMAGE_CONFIG, size: 28, n: 16, steps: quick ? 50 : 1e9, warmup: true },
      runs: runs(1, 1),
    },
  ] : []),
].filter((w) => !only || only.includes(w.workload));
if (smoke) {
  const shrink = { n: 64, batch: 16, width: 16, steps: 3, size: 8, stepsPerRun: 2 };
  for (const w of WORKLOADS) {
    w.runs = 1;
    // Image workloads keep 28×28 (their configuration's attention resolution needs it) with 2 images, 2 steps.
    const image = w.workload.startsWith("image_");
    for (const [k, v] of Object.entries(shrink)) {
      if (!(k in w.params) || (image && k === "size")) continue;
      w.params[k] = w.workload === "pc_sample" && k === "n" ? 50 : image && (k === "n" || k === "batch") ? 2 : v;
    }
    if (w.items) w.items = w.params.batch;
    if (w.params.x) w.params.x = w.params.x.slice(0, 20);
    if (w.workload === "likelihood") Object.assign(w.params, { rtol: 1e-3, atol: 1e-3 });
    w.label += " (smoke)";
    w.flops = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Worker processes speaking JSON lines.
class Peer {
  constructor(kind, threads, cmd, argv, env) {
    this.kind = kind;
    this.threads = threads;
    this.proc = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    this.stderr = "";
    this.proc.stderr.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.waiting = [];
    this.dead = undefined;
    readline.createInterface({ input: this.proc.stdout }).on("line", (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // stray output of a library: not part of the protocol
      }
      const w = this.waiting.shift();
      if (w) w.resolve(msg);
    });
    this.proc.on("exit", (code, sig) => {
      this.dead = `${kind} process exited (${code ?? sig}): ${this.stderr.trim().split("\n").slice(-3).join(" | ")}`;
      for (const w of this.waiting.splice(0)) w.resolve({ ok: false, error: this.dead });
    });
  }
  ask(msg) {
    if (this.dead) return Promise.resolve({ ok: false, error: this.dead });
    return new Promise((resolve) => {
      this.waiting.push({ resolve });
      this.proc.stdin.write(JSON.stringify(msg) + "\n");
    });
  }
  close() {
    if (!this.dead) this.proc.stdin.write(JSON.stringify({ cmd: "exit" }) + "\n");
    this.proc.stdin.end();
  }
}

function findPython() {
  const candidates = [process.env.SCORE_SDE_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  return undefined;
}

function tfjsPeer(threads, wasmOnly = false) {
  const tsNode = require.resolve("ts-node/register/transpile-only", { paths: [root] });
  return new Peer(wasmOnly ? "tfjs-wasm-kernels" : "tfjs", threads, process.execPath, ["-r", tsNode, path.join(__dirname, "tfjs_worker.ts")], {
    SCORE_SDE_WASM_THREADS: String(threads),
    SCORE_SDE_QUIET: "1",
    ...(wasmOnly ? { SCORE_SDE_NATIVE: "0" } : {}),
    TS_NODE_PROJECT: path.join(root, "tsconfig.json"),
  });
}

function torchPeer(py, threads) {
  return new Peer("torch", threads, py, [path.join(__dirname, "torch_peer.py")], {
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 2) => (x === undefined || x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

async function main() {
  const started = new Date();
  const loadBefore = os.loadavg();
  const python = withPeer ? findPython() : undefined;
  const peerNote = !withPeer ? "PyTorch runs disabled (--no-peer)" : python ? `PyTorch ${python.version} (${python.py})` : "PyTorch not found: install Debian python3-torch (and python3-scipy for the likelihood twin); tfjs measured alone";
  // The machine, read once: the header line, the meta file and every row carry it.
  const machine = { cpu: os.cpus()[0]?.model ?? "unknown", cpu_id: cpuId(), isa: isaLevel(), cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` };
  console.log(`score-sde-ts bench ${quick ? "(quick) " : ""}— ${machine.cpu} × ${machine.cores} (${machine.cpu_id}), ${machine.isa}, load ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  console.log(peerNote);

  const rows = [];
  for (const threads of threadList) {
    const tj = tfjsPeer(threads);
    const hello = await tj.ask({ cmd: "hello" });
    if (!hello.ok) throw new Error(`tfjs worker failed to start: ${hello.error}`);
    const tp = python ? torchPeer(python.py, threads) : undefined;
    const tf2 = withWasmOnly ? tfjsPeer(threads, true) : undefined;
    const hello2 = tf2 ? await tf2.ask({ cmd: "hello" }) : undefined;
    const thello = tp ? await tp.ask({ cmd: "hello", threads }) : undefined;
    const backend = `${hello.backend}${hello.note ? ` (${hello.note})` : ""}`;
    console.log(`\n[threads ${threads}] tfjs ${hello.tfjs} backend ${hello.backend}, ${hello.threads} thread(s)${hello.kernels ? `, ${hello.kernels}` : ""}${hello.note ? ` — ${hello.note}` : ""}; torch: ${thello?.ok ? `${thello.threads} thread(s)` : thello?.error ?? "absent"}`);
    for (const w of WORKLOADS) {
      const label = `${w.label} [${threads}t]`;
      process.stdout.write(`  ${label} … `);
      const t0 = Date.now();
      const setup = await tj.ask({ cmd: "setup", workload: w.workload, params: w.params });
      const pSetup = tp && thello?.ok && setup.ok ? await tp.ask({ cmd: "setup", workload: w.workload, params: w.params }) : undefined;
      // The wasm-kernels process writes its own weights file (same seed, same values).
      const fSetup = tf2 && hello2?.ok && setup.ok ? await tf2.ask({ cmd: "setup", workload: w.workload, params: w.params.weights ? { ...w.params, weights: w.params.weights + ".wasm" } : w.params }) : undefined;
      const ftimes = [];
      const fcpus = [];
      const fextras = [];
      const cpus = [];
      const pcpus = [];
      const times = [];
      const ptimes = [];
      const extras = [];
      const pextras = [];
      let error = setup.ok ? undefined : setup.error;
      const peerError = pSetup && !pSetup.ok ? pSetup.error : undefined;
      // Times are per step: a run of `stepsPerRun` back-to-back steps is divided by their number.
      const per = w.params.stepsPerRun ?? 1;
      let last; // the side that ran last
      for (let r = 0; r < w.runs && !error; r++) {
        // Alternate which side goes first so neither always runs on a machine warmed (or loaded) by the other.
        const order = r % 2 === 0 ? ["tfjs", "torch", "wasm"] : ["wasm", "torch", "tfjs"];
        for (const side of order) {
          const present = side === "tfjs" || (side === "torch" ? Boolean(pSetup?.ok) : Boolean(fSetup?.ok));
          if (!present) continue;
          // A run right after the other process's starts while that process's idle threads still spin (OpenBLAS'
          // workers ~0.1 s after each product, OpenMP's a few ms): let them go to sleep first (SETTLE_MS).
          if (last !== undefined && last !== side) await sleep(SETTLE_MS);
          last = side;
          if (side === "tfjs") {
            const res = await tj.ask({ cmd: "run" });
            if (!res.ok) {
              error = res.error;
              break;
            }
            times.push(res.ms / per);
            cpus.push(res.cpu_ms / per);
            extras.push(res.extra);
          } else if (side === "wasm") {
            const res = await tf2.ask({ cmd: "run" });
            if (res.ok) {
              ftimes.push(res.ms / per);
              fcpus.push(res.cpu_ms / per);
              fextras.push(res.extra);
            }
          } else {
            const res = await tp.ask({ cmd: "run" });
            if (res.ok) {
              ptimes.push(res.ms / per);
              pcpus.push(res.cpu_ms / per);
              pextras.push(res.extra);
            }
          }
        }
      }
      const ms = times.length ? median(times) : undefined;
      const pms = ptimes.length ? median(ptimes) : undefined;
      const row = {
        workload: w.workload,
        label: w.label,
        params: Object.fromEntries(Object.entries(w.params).filter(([k]) => k !== "x" && k !== "weights" && k !== "warmup")),
        backend: hello.backend,
        kernels: hello.kernels || null,
        threads: hello.threads,
        ms_median: round(ms),
        ms_min: round(times.length ? Math.min(...times) : undefined),
        runs: times.length,
        peer: pms !== undefined ? `pytorch ${python.version}` : null,
        peer_threads: thello?.ok ? thello.threads : null,
        peer_ms_median: round(pms),
        peer_ms_min: round(ptimes.length ? Math.min(...ptimes) : undefined),
        peer_runs: ptimes.length,
        ratio: ms !== undefined && pms !== undefined ? round(ms / pms, 3) : null,
        // CPU time (all threads of the process) per run: on a shared machine the 1-thread CPU ratio is the
        // steadier comparison (the wall ratio also measures how the scheduler treated each process).
        cpu_ms_median: round(cpus.length ? median(cpus) : undefined),
        peer_cpu_ms_median: round(pcpus.length ? median(pcpus) : undefined),
        cpu_ratio: cpus.length && pcpus.length ? round(median(cpus) / median(pcpus), 3) : null,
        gflops: w.flops && ms ? round(w.flops / ms / 1e6) : null,
        peer_gflops: w.flops && pms ? round(w.flops / pms / 1e6) : null,
      };
      // Throughput of the training rows (images per second of wall time).
      if (w.items) Object.assign(row, { images_per_s: ms ? round((w.items * 1000) / ms, 1) : null, peer_images_per_s: pms ? round((w.items * 1000) / pms, 1) : null });
      if (extras.length && extras[0] && Object.keys(extras[0]).length) row.extra = extras[extras.length - 1];
      if (pextras.length && pextras[0] && Object.keys(pextras[0]).length) row.peer_extra = pextras[pextras.length - 1];
      // Adaptive solvers whose step counts differ (the image likelihood's twin has its own weights, so RK45 rejects
      // other steps): the cost per right-hand-side evaluation is the like-for-like ratio.
      const nfe = Number(row.extra?.nfe);
      const pnfe = Number(row.peer_extra?.nfe);
      if (nfe > 0 && pnfe > 0 && ms !== undefined && pms !== undefined) {
        Object.assign(row, { ms_per_nfe: round(ms / nfe, 3), peer_ms_per_nfe: round(pms / pnfe, 3), per_nfe_ratio: round((ms / nfe) / (pms / pnfe), 3) });
      }
      if (error) row.error = error.split("\n")[0].slice(0, 300);
      if (peerError) row.peer_error = peerError.split("\n")[0].slice(0, 300);
      if (hello.note) row.backend_note = hello.note;
      rows.push(row);
      if (fSetup?.ok && ftimes.length) {
        const fms = median(ftimes);
        rows.push({
          ...row,
          label: `${w.label} (wasm kernels only)`,
          variant: "wasm-kernels (SCORE_SDE_NATIVE=0: the library without lib/perf/native)",
          kernels: hello2?.kernels || null,
          ms_median: round(fms),
          ms_min: round(Math.min(...ftimes)),
          runs: ftimes.length,
          ratio: pms !== undefined ? round(fms / pms, 3) : null,
          cpu_ms_median: round(fcpus.length ? median(fcpus) : undefined),
          cpu_ratio: fcpus.length && pcpus.length ? round(median(fcpus) / median(pcpus), 3) : null,
          gflops: w.flops ? round(w.flops / fms / 1e6) : null,
          extra: fextras.length && Object.keys(fextras[0] ?? {}).length ? fextras[fextras.length - 1] : undefined,
        });
      }
      const secs = ((Date.now() - t0) / 1000).toFixed(0);
      const fastNote = ftimes.length ? `; wasm kernels only ${round(median(ftimes))} ms` : "";
      const cpuNote = cpus.length && pcpus.length ? ` [CPU ${round(median(cpus))} vs ${round(median(pcpus))} ms]` : "";
      const nfeNote = row.per_nfe_ratio ? ` [per evaluation ×${row.per_nfe_ratio}: nfe ${nfe} vs ${pnfe}]` : "";
      console.log(error ? `error: ${row.error}` : `${row.ms_median} ms${pms !== undefined ? ` vs torch ${row.peer_ms_median} ms (×${row.ratio})` : ""}${cpuNote}${nfeNote}${fastNote}${peerError ? ` [torch: ${row.peer_error}]` : ""} (${secs} s)`);
    }
    tj.close();
    tp?.close();
    tf2?.close();
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  const result = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    quick,
    machine,
    load: { before: loadBefore.map((l) => round(l)), after: os.loadavg().map((l) => round(l)), uptime: spawnSync("uptime", { encoding: "utf8" }).stdout?.trim() ?? "" },
    peer: peerNote,
    note: "ratio = tfjs ms_median / PyTorch ms_median at the same thread count, measured in the same run with runs interleaved. Load is the 1/5/15-min load average: other processes shared the machine.",
    rows,
  };
  // latest.json is the array the issue asks for; the run's context goes next to it. Both written atomically (a
  // run killed while writing leaves the previous files). Every row says which machine it came from: results of
  // different CPU kinds are not comparable.
  const { writeFileAtomic } = require("../ts-lib").io();
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileAtomic(outFile, JSON.stringify(rows.map((r) => ({ ...r, date: result.date, cpu: result.machine.cpu, cpu_id: result.machine.cpu_id, isa: result.machine.isa, load: result.load.before })), null, 1) + "\n");
  writeFileAtomic(outFile.replace(/\.json$/, ".meta.json"), JSON.stringify({ ...result, rows: undefined }, null, 1) + "\n");
  printTable(rows);
  console.log(`\nload after: ${result.load.after.join(" ")}; written ${path.relative(root, outFile)}`);
}

/**
 * The CPU's vendor, family and model numbers from /proc/cpuinfo ("AuthenticAMD family 25 model 1"): the model name
 * alone does not tell the CPU kinds apart on these VMs (both AMD kinds report "AMD EPYC": family 25 model 1 is
 * Zen 3, models 16-17 Zen 4, family 26 Zen 5; Sapphire Rapids is GenuineIntel family 6 model 143). "unknown" where
 * the file lacks them.
 */
function cpuId() {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8").split("\n\n")[0];
    const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
    const [vendor, family, model] = [field("vendor_id"), field("cpu family"), field("model")];
    return vendor && family && model ? `${vendor} family ${family} model ${model}` : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The CPU's x86-64 micro-architecture level from /proc/cpuinfo's flags (v4: AVX-512 F/BW/CD/DQ/VL; v3: AVX2, FMA,
 * BMI2; v2: SSE4.2, POPCNT), with the AVX-512 and AMX extensions the kernels can use; "unknown" elsewhere.
 */
function isaLevel() {
  let flags;
  try {
    const line = fs.readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => /^(flags|Features)\s*:/.test(l));
    flags = new Set((line ?? "").split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return "unknown";
  }
  if (flags.size === 0) return "unknown";
  const has = (...f) => f.every((x) => flags.has(x));
  const level = has("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl") ? "x86-64-v4 (AVX-512)" : has("avx2", "fma", "bmi2") ? "x86-64-v3 (AVX2+FMA)" : has("sse4_2", "popcnt") ? "x86-64-v2" : has("asimd") ? "aarch64 (NEON)" : "x86-64 baseline";
  const extras = [["avx512_vnni", "VNNI"], ["avx512_bf16", "BF16"], ["amx_tile", "AMX"]].filter(([f]) => flags.has(f)).map(([, n]) => n);
  return extras.length ? `${level} + ${extras.join(", ")}` : level;
}

function printTable(rows) {
  const head = ["workload", "thr", "tfjs ms", "torch ms", "ratio", "CPU-time ratio", "GFLOP/s tfjs/torch"];
  const body = rows.map((r) => [
    r.label,
    String(r.threads),
    r.error ? "error" : String(r.ms_median),
    r.peer_ms_median === null ? "—" : String(r.peer_ms_median),
    r.ratio === null ? "—" : `${r.ratio}×`,
    r.cpu_ratio === null || r.cpu_ratio === undefined ? "—" : `${r.cpu_ratio}×`,
    r.gflops === null ? "" : `${r.gflops} / ${r.peer_gflops ?? "—"}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  console.log("\n" + line(head));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const b of body) console.log(line(b));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
