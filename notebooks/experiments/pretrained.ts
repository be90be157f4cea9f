/**
 * The committed pretrained image score models, by name. Each lives in data/pretrained/<name>/:
 *   model.ckpt         EMA weights (the evaluation weights) in the checkpoint format of lib/train/checkpoint, with
 *                      the SDE, loss convention, data scaling and the training record in its config
 *   model.safetensors  the same weights with PyTorch-style names and layouts (mapping: lib/models/export.ts)
 *   resume.ckpt        (when committed) the full training checkpoint, to continue training: copy it to
 *                      runs/<name>/checkpoint.ckpt and run `npm run train -- --config <name>`
 *   training.json      configuration, steps, wall time, backend and CPU of the training
 * lib never reads repository paths; this registry maps names to those files for the tools and notebooks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadScoreModel, type LoadedScoreModel } from "../lib/data/score-model";
import { readJsonFile } from "../lib/io";
import { repoRoot } from "./results";

export const PRETRAINED_DIR = path.join(repoRoot(), "data", "pretrained");

/** Names of the committed models (folders of data/pretrained holding a model.ckpt). */
export function pretrainedNames(): string[] {
  if (!fs.existsSync(PRETRAINED_DIR)) return [];
  return fs
    .readdirSync(PRETRAINED_DIR)
    .filter((d) => fs.existsSync(path.join(PRETRAINED_DIR, d, "model.ckpt")))
    .sort();
}

/** The weights file of a committed model (an error lists the known names). */
export function pretrainedPath(name: string): string {
  const file = path.join(PRETRAINED_DIR, name, "model.ckpt");
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || !fs.existsSync(file)) {
    throw new Error(`pretrained model "${name}" does not exist; committed models: ${pretrainedNames().join(", ") || "(none)"} (data/pretrained/<name>/model.ckpt)`);
  }
  return file;
}

/** Loads a committed model by name (EMA weights). */
export function loadPretrained(name: string): LoadedScoreModel {
  return loadScoreModel(pretrainedPath(name));
}

/** The training record of a committed model (training.json), if any. */
export function pretrainedRecord(name: string): Record<string, unknown> | undefined {
  const f = path.join(path.dirname(pretrainedPath(name)), "training.json");
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, unknown>) : undefined;
}

/** What tools/evaluate-images.ts wrote for a committed model (data/results/images/<name>/report.json). */
export interface ImageReport {
  model: string;
  step: number;
  sde: string;
  dataset: string;
  n: number;
  sampling: { sampler?: string; steps?: number; snr?: number; nfePerSample?: number; seconds?: number };
  classifier: { file: string; testAccuracy: number };
  scores: Record<"model" | "floor" | "gaussianBaseline", { fd: number; kid: { mean: number; std: number }; confident: number; minClassFraction: number; classFractions: number[] }>;
  realTestConfidence: number;
  criteria: Record<string, number | boolean | undefined>;
  bitsPerDim: { images: number; divergence: string; mean: number; stderr: number; nfe: number; rtol: number; seconds: number; values: number[]; hutchinsonSameImages?: number[] }[];
  backend: string;
  cpu: string;
  date: string;
}

/** The committed evaluation report of a model, or undefined if it has none or it scores other weights (older step). */
export function imageReport(name: string): ImageReport | undefined {
  const f = path.join(repoRoot(), "data", "results", "images", name, "report.json");
  if (!fs.existsSync(f)) return undefined;
  const r = readJsonFile<ImageReport>(f, `evaluation report (regenerate it with tools/evaluate-images.ts --model ${name})`);
  const steps = pretrainedRecord(name)?.steps;
  return steps === undefined || r.step === steps ? r : undefined;
}
