/**
 * The main job of `bash tools/setup.sh` / `npm run demo`: sample toy mixtures with their EXACT score under the VE, VP
 * and sub-VP SDEs with the predictor–corrector sampler (reverse diffusion + Langevin, N = 1000, the paper's PC1000),
 * and check the samples against the true distribution.
 *
 * Writes figures/demo/samples.{json,png,svg} (true vs sampled points per SDE) and figures/demo/summary.{csv,json}
 * (energy distance to a true sample next to the noise floor of two true samples of the same size, NFE, wall time).
 * Then draws a grid of digits from the committed MNIST model: figures/demo/digits.png.
 * Options: --points N (default 2000), --seed S (default 0), --quick (500 points, 16 digits; also SCORE_SDE_QUICK=1).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import {
  GaussianMixture,
  SDE,
  SubVPSDE,
  VESDE,
  VPSDE,
  anisotropicMixture,
  FigureRenderer,
  RendererUnavailable,
  createRng,
  eightGaussians,
  energyDistance,
  grid,
  initBackend,
  noiseFloor,
  pcSample,
  scatter2d,
} from "../lib";
import { writeFileAtomic, writeImageGridPng } from "../lib/io";
import { loadPretrained } from "../notebooks/experiments/pretrained";
import { sampleImages } from "./sample/model";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} = ${process.argv[i + 1]} is not allowed; it must be a non-negative integer`);
  return v;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick") || process.env.SCORE_SDE_QUICK === "1";
  const n = arg("points", quick ? 500 : 2000);
  const seed = arg("seed", 0);
  const backend = await initBackend();
  // Runs from tools/ (ts-node) or build/tools/ (compiled): the repository root is the folder with package.json.
  const root = fs.existsSync(path.join(__dirname, "..", "package.json")) ? path.join(__dirname, "..") : path.join(__dirname, "..", "..");
  const out = path.join(root, "figures", "demo");
  fs.mkdirSync(out, { recursive: true });

  const toys: [string, GaussianMixture][] = [
    ["8 Gaussians", eightGaussians()],
    ["anisotropic mixture", anisotropicMixture()],
  ];
  const sdes: [string, SDE][] = [
    ["VE", new VESDE()],
    ["VP", new VPSDE()],
    ["sub-VP", new SubVPSDE()],
  ];
  const rows: Record<string, string | number>[] = [];
  const panels = [];
  console.log(`Sampling ${n} points per run with PC1000 (reverse diffusion + Langevin, snr 0.16) and the exact score.`);
  for (const [toyName, toy] of toys) {
    const trueRng = createRng(seed + 1000);
    const truth = toy.sample(n, trueRng);
    const truthData = truth.dataSync().slice();
    const floor = noiseFloor(toy, n, (a, b) => energyDistance(a, b), { repeats: 5, seed: seed + 2000 });
    const row = [];
    for (const [sdeName, sde] of sdes) {
      const t0 = Date.now();
      let last = t0;
      const { samples, nfe } = await pcSample({
        sde,
        score: toy.scoreFn(sde),
        shape: [n, 2],
        predictor: "reverse_diffusion",
        corrector: "langevin",
        snr: 0.16,
        rng: createRng(seed),
        callback: ({ i }) => {
          const now = Date.now();
          // A live line on a terminal; a new line every 5 s in logs (CI) so they stay readable.
          const tty = process.stdout.isTTY === true;
          if (now - last > (tty ? 500 : 5000) || i === sde.N - 1) {
            last = now;
            const rate = (i + 1) / ((now - t0) / 1000);
            const left = (sde.N - i - 1) / rate;
            const line = `  ${toyName} / ${sdeName}: step ${i + 1}/${sde.N}, ${rate.toFixed(0)} steps/s, ~${left.toFixed(0)} s left`;
            process.stdout.write(tty ? `\r${line}   ` : `${line}\n`);
          }
        },
      });
      if (process.stdout.isTTY) process.stdout.write("\n");
      const seconds = (Date.now() - t0) / 1000;
      const data = samples.dataSync().slice();
      samples.dispose();
      const ed = energyDistance({ data, dim: 2 }, { data: truthData, dim: 2 });
      rows.push({
        distribution: toyName,
        sde: sdeName,
        points: n,
        nfe,
        seconds: Number(seconds.toFixed(1)),
        energy_distance: Number(ed.toPrecision(4)),
        noise_floor_mean: Number(floor.mean.toPrecision(4)),
        noise_floor_std: Number(floor.std.toPrecision(4)),
        within_noise_floor: ed <= floor.mean + 3 * floor.std ? "yes" : "no",
      });
      row.push({
        title: `${toyName}, ${sdeName}`,
        traces: [scatter2d(truthData, { name: "true", color: "#999999", size: 2, opacity: 0.4 }), scatter2d(data, { name: "PC1000, exact score", color: "#1f77b4", size: 2 })],
      });
    }
    truth.dispose();
    panels.push(row);
  }

  console.table(rows);
  const header = Object.keys(rows[0]);
  writeFileAtomic(path.join(out, "summary.csv"), [header.join(","), ...rows.map((r) => header.map((h) => r[h]).join(","))].join("\n") + "\n");
  writeFileAtomic(
    path.join(out, "summary.json"),
    JSON.stringify({ backend: backend.name, seed, points: n, quick, sampler: "PC1000: reverse_diffusion + langevin, snr 0.16, N 1000, denoise", rows }, null, 2) + "\n",
  );
  const fig = grid(panels, { title: "Exact-score PC sampling of toy mixtures (grey: true samples)", shareAxes: false });
  try {
    const r = await FigureRenderer.open();
    const files = await r.writeFiles(fig, path.join(out, "samples"));
    await r.close();
    console.log(`wrote ${files.map((f) => path.relative(root, f)).join(", ")}`);
  } catch (e) {
    if (!(e instanceof RendererUnavailable)) throw e;
    writeFileAtomic(path.join(out, "samples.json"), JSON.stringify(fig));
    console.log(`${e.message}\nwrote figures/demo/samples.json (plotly JSON) only`);
  }
  console.log(`wrote figures/demo/summary.csv and summary.json (tensors alive: ${tf.memory().numTensors})`);
  const bad = rows.filter((r) => r.within_noise_floor !== "yes");
  if (bad.length) console.log(`note: ${bad.length} run(s) above the 3-sigma noise floor — see the table.`);
  await digitGrid(out, seed, quick);
}

/**
 * The paper's subject on a CPU: a grid of digits drawn from the committed MNIST VP model (notebooks/experiments/pretrained.ts)
 * with Euler–Maruyama on the reverse SDE, written to figures/demo/digits.png (+ .json with the settings).
 */
async function digitGrid(out: string, seed: number, quick: boolean): Promise<void> {
  const m = loadPretrained("mnist-vp");
  try {
    const n = quick ? 16 : 36;
    const steps = quick ? 50 : 200;
    console.log(`Drawing ${n} digits from the committed MNIST model (VP, EMA weights after ${m.step} training steps; Euler–Maruyama, ${steps} steps)…`);
    const r = await sampleImages(m, { sampler: "em", n, seed, steps, batch: n });
    writeImageGridPng(path.join(out, "digits.png"), r.images, r.shape, { cols: Math.sqrt(n), scale: 3 });
    writeFileAtomic(path.join(out, "digits.json"), JSON.stringify({ model: "mnist-vp", trainingSteps: m.step, sampler: "em", steps, n, seed, seconds: r.seconds }, null, 1) + "\n");
    console.log(`wrote figures/demo/digits.png (${r.seconds.toFixed(0)} s)`);
  } finally {
    m.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
