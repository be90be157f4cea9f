/**
 * Where does a workload's time go? Runs one workload of tools/bench/tfjs_worker.ts under `tf.profile` and prints
 * the kernels by total time, their call counts, and the share of wall time spent outside kernels (op dispatch,
 * tape, JS glue). Usage: npx ts-node --transpile-only tools/bench/profile.ts mlp_train width=128 batch=512
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { createToyMLP, createUNet, scoreFnFromModel } from "../../lib/models";
import { createRng } from "../../lib/random";
import { logLikelihood } from "../../lib/likelihood";
import { pcSample } from "../../lib/sampling";
import { VESDE } from "../../lib/sde";
import { Trainer } from "../../lib/train";
import { imageWorkload } from "./image_workloads";

async function main(): Promise<void> {
  const info = await initBackend({ quiet: true });
  const [what = "mlp_train", ...kv] = process.argv.slice(2);
  const p: Record<string, number> = { width: 128, batch: 512, n: 10000, steps: 5, reps: 5 };
  for (const s of kv) {
    const [k, v] = s.split("=");
    p[k] = Number(v);
  }
  const model = createToyMLP({ width: p.width, depth: 3, embeddingDim: 32, seed: 0 });
  const sde = new VESDE({ sigmaMin: 0.01, sigmaMax: 50 });
  let step: () => Promise<void>;
  if (what === "mlp_train") {
    const x0 = tf.keep(createRng(1).normal([p.batch, 2]));
    const trainer = new Trainer({ model, sde, batchSource: () => x0.clone(), seed: 42 });
    step = async () => void trainer.trainStep();
  } else if (what === "pc_sample") {
    const score = scoreFnFromModel(sde, model);
    const small = new VESDE({ sigmaMin: 0.01, sigmaMax: 50, N: p.steps });
    step = async () => {
      const r = await pcSample({ sde: small, score, shape: [p.n, 2], rng: createRng(0) });
      r.samples.dispose();
    };
  } else if (what === "unet_train") {
    const unet = createUNet({ imageSize: 28, imageChannels: 1, seed: 0, gradientCheckpointing: p.ckpt !== 0 });
    const x0 = tf.keep(createRng(1).uniform([p.batch === 512 ? 64 : p.batch, 28, 28, 1]));
    const trainer = new Trainer({ model: unet, sde, batchSource: () => x0.clone(), seed: 42 });
    step = async () => void trainer.trainStep();
  } else if (what.startsWith("image_")) {
    // The image workloads of tools/bench/image_workloads.ts on the MNIST training configuration.
    const w = imageWorkload(what, { config: "data/configs/mnist-vp.json", size: 28, batch: p.batch === 512 ? 64 : p.batch, n: p.batch === 512 ? 64 : p.batch, steps: p.steps, snr: 0.16 });
    step = async () => void (await w.run());
  } else if (what === "likelihood") {
    const score = scoreFnFromModel(sde, model);
    const x = tf.keep(createRng(2).normal([p.n, 2]));
    step = async () => {
      const r = await logLikelihood({ sde, score, x, divergence: "exact", rtol: p.rtol ?? 1e-3, atol: p.rtol ?? 1e-3 });
      console.log(`  (nfe ${r.nfe})`);
      tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
    };
  } else throw new Error(`unknown workload ${what}`);
  await step();
  await step();
  const t0 = performance.now();
  for (let i = 0; i < p.reps; i++) await step();
  const wall = (performance.now() - t0) / p.reps;
  // Each step runs the same kernel sequence; on a loaded machine a kernel is often pre-empted, so the time of the
  // i-th kernel call is taken as its minimum over the profiled steps (what it costs when it gets the CPU).
  const perStep: { name: string; shapes: string; ms: number }[][] = [];
  for (let r = 0; r < p.reps; r++) {
    const prof = await tf.profile(async () => step());
    perStep.push(
      prof.kernels
        // Scopes of customGrad / op wrappers repeat the time of the kernels inside them.
        .filter((k) => !/scope|__op$/.test(k.name))
        .map((k) => ({ name: k.name, shapes: JSON.stringify(k.inputShapes), ms: typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0 })),
    );
  }
  const n = Math.min(...perStep.map((s) => s.length));
  const by = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const ms = Math.min(...perStep.map((s) => s[i].ms));
    total += ms;
    const key = `${perStep[0][i].name} ${perStep[0][i].shapes}`;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    by.set(key, e);
  }
  const byName = new Map<string, { ms: number; n: number }>();
  for (const [k, e] of by) {
    const name = k.split(" ")[0];
    const t = byName.get(name) ?? { ms: 0, n: 0 };
    byName.set(name, { ms: t.ms + e.ms, n: t.n + e.n });
  }
  console.log(`${what} ${JSON.stringify(p)} backend ${info.name} ${info.threads ?? 1}t: wall ${wall.toFixed(1)} ms/step (unprofiled, mean), kernels ${total.toFixed(1)} ms/step (per-call minimum over ${p.reps} steps), ${n} kernel calls/step`);
  console.log("by kernel (ms, calls): " + [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => `${k} ${v.ms.toFixed(2)} ${v.n}×`).join(", "));
  const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(p.top ?? 25));
  for (const [k, e] of rows) console.log(`${e.ms.toFixed(2).padStart(8)} ms  ${String(e.n).padStart(5)}×  ${k}`);
}

void main();
