/**
 * Samples a toy 2-D Gaussian mixture with its EXACT score (so the only error is the solver's):
 *
 *   npm run sample -- --toy eight-gaussians --sde vp --sampler dpm_solver_pp_2m --steps 20 --n 2000 --seed 0 --out x.npy
 *        [--grid uniform|logsnr|karras|quadratic] [--eps E] [--snr 0.16 (pc)] [--no-png]
 *
 * --toy: eight-gaussians, grid-gaussians or anisotropic-mixture (the toys with an exact score; camelCase also works).
 * --sde: ve, vp or subvp (library defaults: σ 0.01–50, β 0.1–20).
 * --sampler: a registered solver (lib/solvers: ddim, dpm_solver_1/2/3, dpm_solver_pp_2m, heun, edm_stochastic,
 *   stochastic_heun, adaptive_sde) or pc (the paper's PC sampler: reverse diffusion + one Langevin step, snr --snr,
 *   on an SDE with N = --steps noise levels). --steps K is the number of grid intervals (NFE for first-order
 *   methods; the solver's NFE per step times K in general; adaptive_sde: its grid intervals, usually 1).
 * Writes --out, a float32 NPY [N, 2]; <out>.png, a scatter of the samples over the mixture's means; <out>.json with
 * the settings, the NFE and the time. Every file is written atomically.
 */
import * as path from "node:path";
import * as fs from "node:fs";
import type * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { encodePng, writeFileAtomic, writeJsonAtomic, writeNpy } from "../../lib/io";
import { createRng } from "../../lib/random";
import { pcSample } from "../../lib/sampling";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../../lib/sde";
import { GRID_KINDS, GridKind, getSolver, sample, solverNames } from "../../lib/solvers";
import { GaussianMixture, anisotropicMixture, eightGaussians, gridGaussians } from "../../lib/toy";

const TOYS: Record<string, () => GaussianMixture> = {
  "eight-gaussians": eightGaussians,
  "grid-gaussians": gridGaussians,
  "anisotropic-mixture": anisotropicMixture,
};
const SDES: Record<string, () => SDE> = { ve: () => new VESDE(), vp: () => new VPSDE(), subvp: () => new SubVPSDE() };

export interface ToySampleArgs {
  toy: string;
  sde: string;
  sampler: string;
  steps: number;
  n: number;
  seed: number;
  out: string;
  grid?: GridKind;
  eps?: number;
  snr: number;
  png: boolean;
}

const USAGE =
  "usage: npm run sample -- --toy eight-gaussians --sde ve|vp|subvp --sampler NAME --steps K --n N --seed S --out FILE.npy " +
  "[--grid uniform|logsnr|karras|quadratic] [--eps E] [--snr R] [--no-png]";

function bad(name: string, value: unknown, allowed: string): never {
  throw new RangeError(`sample --toy: ${name} = ${JSON.stringify(value)} is not allowed; ${name} must be ${allowed}\n${USAGE}`);
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

export function parseToyArgs(argv: string[]): ToySampleArgs {
  const vals = new Map<string, string>();
  const flags = new Set<string>();
  const VALUED = ["--toy", "--sde", "--sampler", "--steps", "--n", "--seed", "--out", "--grid", "--eps", "--snr"];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--no-png" || a === "--help") flags.add(a);
    else if (VALUED.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) bad(a, v, "followed by a value");
      if (vals.has(a)) bad(a, v, "given once");
      vals.set(a, v);
      i++;
    } else if (["--class", "--guidance", "--inpaint", "--from-test"].includes(a)) {
      bad(a, argv[i + 1], "absent with --toy: class-conditional sampling and inpainting need an image model and its classifier (npm run sample -- --model mnist-vp …)");
    } else bad("argument", a, `one of ${[...VALUED, "--no-png"].join(", ")}`);
  }
  if (flags.has("--help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const need = (k: string) => vals.get(k) ?? bad(k, undefined, "given");
  const int = (k: string, lo: number, hi: number) => {
    const s = need(k);
    const v = Number(s);
    if (!/^\d+$/.test(s) || v < lo || v > hi) bad(k, s, `an integer in [${lo}, ${hi}]`);
    return v;
  };
  const toy = kebab(need("--toy"));
  if (!(toy in TOYS)) bad("--toy", vals.get("--toy"), `one of ${Object.keys(TOYS).join(", ")} (the toys with an exact score)`);
  const sde = need("--sde").toLowerCase().replace("-", "");
  if (!(sde in SDES)) bad("--sde", vals.get("--sde"), "ve, vp or subvp");
  const sampler = need("--sampler");
  if (sampler !== "pc" && !solverNames().includes(sampler)) bad("--sampler", sampler, `pc or one of ${solverNames().join(", ")}`);
  const out = need("--out");
  if (!out.endsWith(".npy")) bad("--out", out, "a file name ending in .npy");
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) bad("--out", out, `in an existing folder (${dir} does not exist)`);
  const grid = vals.get("--grid") as GridKind | undefined;
  if (grid !== undefined && !GRID_KINDS.includes(grid)) bad("--grid", grid, `one of ${GRID_KINDS.join(", ")}`);
  if (grid !== undefined && sampler === "pc") bad("--grid", grid, "absent with --sampler pc (the PC sampler walks linspace(T, eps, N))");
  const num = (k: string, lo: number, hi: number, dflt?: number) => {
    const s = vals.get(k);
    if (s === undefined) return dflt;
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v) || v <= lo || v >= hi) bad(k, s, `a number in (${lo}, ${hi})`);
    return v;
  };
  return {
    toy,
    sde,
    sampler,
    steps: int("--steps", 1, 100_000),
    n: int("--n", 1, 10_000_000),
    seed: int("--seed", 0, 2 ** 32 - 1),
    out,
    grid,
    eps: num("--eps", 0, 1),
    snr: num("--snr", 0, 1e3, 0.16)!,
    png: !flags.has("--no-png"),
  };
}

/** A 512×512 grey scatter of 2-D points (dark dots on white) with the mixture means as larger dots. */
function scatterPng(points: Float32Array, means: readonly (readonly number[])[]): Buffer {
  const W = 512;
  const L = Math.max(1, ...means.map(([x, y]) => Math.max(Math.abs(x), Math.abs(y)))) * 1.5;
  const pix = new Uint8Array(W * W).fill(255);
  const dot = (x: number, y: number, r: number, v: number) => {
    const cx = Math.round(((x + L) / (2 * L)) * (W - 1));
    const cy = Math.round(((L - y) / (2 * L)) * (W - 1));
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
      const px = cx + dx;
      const py = cy + dy;
      if (px >= 0 && py >= 0 && px < W && py < W) pix[py * W + px] = Math.min(pix[py * W + px], v);
    }
  };
  for (let i = 0; i + 1 < points.length; i += 2) dot(points[i], points[i + 1], 1, 40);
  return encodePng(pix, W, W, 1);
}

export async function main(argv: string[]): Promise<void> {
  const a = parseToyArgs(argv);
  await initBackend({ quiet: true });
  const toy = TOYS[a.toy]();
  const t0 = Date.now();
  let samples: tf.Tensor;
  let nfe: number;
  const shape = [a.n, 2];
  const rng = createRng(a.seed);
  if (a.sampler === "pc") {
    const sde = a.sde === "ve" ? new VESDE({ N: a.steps }) : a.sde === "vp" ? new VPSDE({ N: a.steps }) : new SubVPSDE({ N: a.steps });
    const r = await pcSample({ sde, score: toy.scoreFn(sde), shape, rng, snr: a.snr, eps: a.eps });
    samples = r.samples;
    nfe = r.scoreEvals;
  } else {
    const sde = SDES[a.sde]();
    const r = await sample({ sde, score: toy.scoreFn(sde), shape, solver: a.sampler, steps: a.steps, gridKind: a.grid, eps: a.eps, rng });
    samples = r.samples;
    nfe = r.nfe;
  }
  const data = Float32Array.from(samples.dataSync());
  samples.dispose();
  const seconds = (Date.now() - t0) / 1000;
  writeNpy(a.out, data, shape);
  const base = a.out.replace(/\.npy$/, "");
  if (a.png) writeFileAtomic(`${base}.png`, scatterPng(data, toy.means));
  const info = {
    toy: a.toy, sde: a.sde, sampler: a.sampler, steps: a.steps, n: a.n, seed: a.seed,
    grid: a.sampler === "pc" ? "linspace(T, eps, N)" : a.grid ?? getSolver(a.sampler).defaultGrid,
    eps: a.eps ?? null, nfe, seconds, score: "exact mixture score",
  };
  writeJsonAtomic(`${base}.json`, info);
  console.log(`${a.n} samples of ${a.toy} (${a.sde}, ${a.sampler}, ${a.steps} steps, NFE ${nfe}, ${seconds.toFixed(1)} s) → ${a.out}${a.png ? `, ${base}.png` : ""}, ${base}.json`);
}
