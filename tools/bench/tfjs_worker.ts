/**
 * The tfjs side of the benchmark (tools/bench/run.js drives this process; tools/bench/torch_peer.py is the
 * PyTorch twin of every workload). Each workload calls the library exactly as a user would — Trainer.trainStep,
 * pcSample, logLikelihood, the U-Net's apply — so the numbers are what users get.
 *
 * Protocol: one JSON object per line on stdin, one JSON answer per line on stdout (see torch_peer.py). The
 * backend (and the wasm thread count, env SCORE_SDE_WASM_THREADS) is chosen by `initBackend`, as in user code.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import * as tf from "@tensorflow/tfjs";
import { initBackend, type BackendInfo } from "../../lib/backend";
import { logLikelihood } from "../../lib/likelihood";
import { createToyMLP, getWeights, scoreFnFromModel, type ScoreNetwork } from "../../lib/models";
import { createRng } from "../../lib/random";
import { pcSample } from "../../lib/sampling";
import { VESDE } from "../../lib/sde";
import { Trainer } from "../../lib/train";


type Params = Record<string, unknown>;
type Extra = Record<string, number | string>;

interface Workload {
  run(): Promise<Extra> | Extra;
  dispose(): void;
}

const num = (p: Params, k: string): number => {
  const v = p[k];
  if (typeof v !== "number") throw new Error(`param ${k} must be a number, got ${JSON.stringify(v)}`);
  return v;
};

/** Writes the network's weights (logical names) for the PyTorch twin, so both sides compute the same function. */
function exportWeights(model: ScoreNetwork, file: string): void {
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  for (const w of getWeights(model)) out[w.name] = { shape: w.shape.slice(), data: Array.from(w.values) };
  fs.writeFileSync(file, JSON.stringify(out));
}

function toyModel(p: Params): ScoreNetwork {
  return createToyMLP({ width: num(p, "width"), depth: num(p, "depth"), embeddingDim: num(p, "embeddingDim"), seed: 0 });
}

function matmul(p: Params): Workload {
  // [m, k] · [k, n]; `n` alone means square.
  const n = num(p, "n");
  const m = typeof p.m === "number" ? p.m : n;
  const k = typeof p.k === "number" ? p.k : n;
  const rng = createRng(0);
  const a = rng.normal([m, k]);
  const b = rng.normal([k, n]);
  // The product only, as the PyTorch twin's torch.mm: the wasm and cpu backends compute it before tf.matMul
  // returns, so reading it back would time a copy of the whole result out of the heap that the twin does not make
  // (4 MB for both shapes here). Backends that compute later (GPU) are read back, which waits for the product.
  const computesEagerly = ["wasm", "cpu"].includes(tf.getBackend());
  return {
    run: () => {
      const y = tf.matMul(a, b);
      // Read back outside tidy: tf.tidy walks a returned typed array element by element (seconds for 1M values).
      if (!computesEagerly) y.dataSync();
      y.dispose();
      return {};
    },
    dispose: () => tf.dispose([a, b]),
  };
}

function mlpTrain(p: Params): Workload {
  const model = toyModel(p);
  exportWeights(model, String(p.weights));
  const sde = new VESDE({ sigmaMin: num(p, "sigmaMin"), sigmaMax: num(p, "sigmaMax") });
  // A fixed batch: the step is measured, not the data source (the PyTorch twin does the same).
  const x0 = tf.keep(createRng(1).normal([num(p, "batch"), 2]));
  const trainer = new Trainer({ model, sde, batchSource: () => x0.clone(), seed: 42 });
  // `stepsPerRun` steps back to back per timed run (the driver divides the time by it).
  const steps = typeof p.stepsPerRun === "number" ? p.stepsPerRun : 1;
  return {
    run: () => {
      let s = trainer.trainStep();
      for (let i = 1; i < steps; i++) s = trainer.trainStep();
      return { loss: s.loss, norm: s.gradNorm };
    },
    dispose: () => {
      trainer.dispose();
      model.dispose();
      x0.dispose();
    },
  };
}

function pcSampleWorkload(p: Params): Workload {
  const model = toyModel(p);
  exportWeights(model, String(p.weights));
  const sde = new VESDE({ sigmaMin: num(p, "sigmaMin"), sigmaMax: num(p, "sigmaMax"), N: num(p, "N") });
  const score = scoreFnFromModel(sde, model);
  const steps = num(p, "steps");
  let seed = 0;
  return {
    run: async () => {
      // A sampler run of `steps` steps of the N-step grid (quick mode stops early; the per-step cost is the same).
      let stop = false;
      const rng = createRng(seed++);
      const res = await pcSample({
        sde,
        score,
        shape: [num(p, "n"), 2],
        predictor: "reverse_diffusion",
        corrector: "langevin",
        snr: num(p, "snr"),
        nSteps: 1,
        rng,
        callback: steps < sde.N ? ({ i }) => {
          if (i + 1 >= steps) stop = true;
          if (stop) throw new StopSampling();
        } : undefined,
      }).catch((e: unknown) => {
        if (e instanceof StopSampling) return undefined;
        throw e;
      });
      res?.samples.dispose();
      return { steps };
    },
    dispose: () => model.dispose(),
  };
}

class StopSampling extends Error {}

function likelihood(p: Params): Workload {
  const model = toyModel(p);
  exportWeights(model, String(p.weights));
  const sde = new VESDE({ sigmaMin: num(p, "sigmaMin"), sigmaMax: num(p, "sigmaMax") });
  const score = scoreFnFromModel(sde, model);
  const xs = p.x as number[];
  const x = tf.keep(tf.tensor2d(Float32Array.from(xs), [xs.length / 2, 2]));
  return {
    run: async () => {
      const r = await logLikelihood({ sde, score, x, divergence: "exact", rtol: num(p, "rtol"), atol: num(p, "atol"), eps: num(p, "eps") });
      const mean = r.logp.mean().dataSync()[0];
      tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
      return { nfe: r.nfe, logp_mean: mean };
    },
    dispose: () => {
      model.dispose();
      x.dispose();
    },
  };
}

const WORKLOADS: Record<string, (p: Params) => Workload | Promise<Workload>> = {
  matmul,
  mlp_train: mlpTrain,
  pc_sample: pcSampleWorkload,
  likelihood,
};

/** Optional workloads that live in their own file (they need modules that may not exist yet). */
function optionalWorkload(name: string): ((p: Params) => Workload | Promise<Workload>) | undefined {
  if (name === "unet_train" || name === "unet_forward") {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const m = require("./unet_workloads") as { unetWorkload: (name: string, p: Params) => Workload };
    return (p) => m.unetWorkload(name, p);
  }
  if (name.startsWith("image_")) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const m = require("./image_workloads") as { imageWorkload: (name: string, p: Params) => Workload };
    return (p) => m.imageWorkload(name, p);
  }
  return undefined;
}

async function main(): Promise<void> {
  let info: BackendInfo | undefined;
  let current: Workload | undefined;
  const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as { cmd: string; workload?: string; params?: Params };
    try {
      if (msg.cmd === "hello") {
        info = await initBackend({ quiet: true });
        // The kernels behind the numbers: oneDNN (lib/perf/native) or wasm's own, and why.
        const kernels = info.native ? `${info.native.library} kernels, ${info.native.threads} thread(s), wasm ${info.threads ?? 1} thread(s)` : info.name === "wasm" ? `wasm kernels only (${info.nativeUnavailable})` : "";
        // Threads of the process's arithmetic: the native kernels' when they took them (wasm then runs one).
        send({ ok: true, backend: info.name, threads: info.native?.threads ?? info.threads ?? 1, tfjs: tf.version.tfjs, note: info.wasmThreadsFallback ?? "", kernels });
      } else if (msg.cmd === "setup") {
        current?.dispose();
        current = undefined;
        const make = WORKLOADS[msg.workload ?? ""] ?? optionalWorkload(msg.workload ?? "");
        if (!make) throw new Error(`unknown workload ${msg.workload}`);
        current = await make(msg.params ?? {});
        // Warm-up (kernel set-up, XNNPACK operator caches, JIT, the allocators' first page faults): runs until
        // 1 s has passed (at most 50 runs; at least one), the same rule as the PyTorch twin. A fresh process ran
        // its first ~0.3 s of 1024³ products at half speed or less (12 -> 21-33 ms, with system time from page
        // faults), which a single warm-up run left inside the timed runs. Long workloads (minutes) skip it: their
        // first seconds already warm up and a warm-up would double the suite's time.
        if (msg.params?.warmup !== false) {
          const t0 = performance.now();
          for (let i = 0; i < 50 && (i === 0 || performance.now() - t0 < 1000); i++) await current.run();
        }
        send({ ok: true, info: { tensors: tf.memory().numTensors } });
      } else if (msg.cmd === "run") {
        if (!current) throw new Error("run before setup");
        // Wall time, and the process's CPU time (all its threads): on a machine shared with other jobs the CPU
        // time of a 1-thread run is close to its unloaded wall time, while wall time depends on the scheduler.
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const extra = await current.run();
        const ms = performance.now() - t0;
        const c = process.cpuUsage(c0);
        send({ ok: true, ms, cpu_ms: (c.user + c.system) / 1000, extra });
      } else if (msg.cmd === "exit") {
        current?.dispose();
        break;
      } else {
        throw new Error(`unknown command ${msg.cmd}`);
      }
    } catch (e) {
      send({ ok: false, error: e instanceof Error ? e.message : String(e), trace: e instanceof Error ? String(e.stack).slice(0, 2000) : "" });
    }
  }
  rl.close();
  void info;
}

void main();
