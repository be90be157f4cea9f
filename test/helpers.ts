/** Shared test utilities: backend start-up, the official reference vectors, tolerant comparisons. */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { energyDistance } from "../lib/metrics";
import type { NoiseFloor } from "../lib/metrics";
import { createRng as createRngForTests } from "../lib/random";
import type { Rng } from "../lib/random";

/** Repository root (the folder holding package.json), found from the compiled or the source location. */
export const ROOT = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, "package.json"))) {
    const up = path.dirname(d);
    if (up === d) throw new Error("package.json not found above " + __dirname);
    d = up;
  }
  return d;
})();

const tempDirs = new Set<string>();
/**
 * A new empty folder under the OS temporary directory (`prefix` + random suffix), removed when this test file's
 * process exits (node's test runner runs each file in its own process), whether its tests passed or not.
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempDirs.size === 0) process.on("exit", () => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  tempDirs.add(dir);
  return dir;
}

/**
 * Runs a TypeScript command-line tool of tools/ (e.g. "train-toy.ts") as users run it (ts-node, transpile only) from
 * the repository root, waiting at most `timeoutMs`; returns its exit status and stderr (where the tools report).
 */
export function runTool(tool: string, args: string[], timeoutMs: number): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", tool), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    timeout: timeoutMs,
  });
  return { status: r.status, stderr: r.stderr };
}

export async function setup(): Promise<void> {
  await initBackend({ quiet: true });
}

/**
 * The official PyTorch reference vectors (see test/fixtures/official_vectors.README.md). A copy is committed so the
 * suite runs without ../shared; reference.test.ts checks that the copy equals ../shared/reference when present.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
let cached: Json | undefined;
export function reference(): Json {
  cached ??= JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "official_vectors.json"), "utf8"));
  return cached;
}

/** Flattens nested number arrays. */
export function flat(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v as number];
}

/** |a − b| ≤ atol + rtol |b| elementwise, with a message locating the first failure. */
export function assertClose(
  actual: tf.Tensor | ArrayLike<number> | number,
  expected: unknown,
  { rtol = 1e-5, atol = 1e-6, what = "" }: { rtol?: number; atol?: number; what?: string } = {},
): void {
  const a = typeof actual === "number" ? [actual] : actual instanceof tf.Tensor ? Array.from(actual.dataSync()) : Array.from(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${what}: length ${a.length} vs expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const tol = atol + rtol * Math.abs(e[i]);
    if (!(Math.abs(a[i] - e[i]) <= tol)) {
      assert.fail(`${what}[${i}]: got ${a[i]}, expected ${e[i]} (|diff| ${Math.abs(a[i] - e[i]).toExponential(3)} > tol ${tol.toExponential(3)})`);
    }
  }
}

/** Runs fn and asserts it leaves no tensors behind. */
export async function assertNoLeak(fn: () => unknown | Promise<unknown>, what = "fn"): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensors`);
}

/**
 * Three independent exact samples of size n (seeds 98, 97, 96); a sampler's distance is the mean of its distances to
 * them (`edToExact`). Averaging over the exact side removes part of the exact sample's own fluctuation (a bias adds to
 * every term alike), so the statistic is compared with the single-pair floor conservatively and keeps its power
 * against a wrong sampler. Used by the controllable-generation tests against exact conditionals.
 */
export function exactSamples(source: { sample(n: number, rng: Rng): tf.Tensor }, n: number): Float32Array[] {
  return [98, 97, 96].map((seed) => {
    const t = source.sample(n, createRngForTests(seed));
    const v = Float32Array.from(t.dataSync());
    t.dispose();
    return v;
  });
}

/** Mean energy distance of samples [n, dim] to each of `exactSamples`' draws. */
export function edToExact(samples: tf.Tensor, truths: Float32Array[]): number {
  const dim = samples.shape[1] as number;
  const data = Float32Array.from(samples.dataSync());
  return truths.reduce((acc, tr) => acc + energyDistance({ data, dim }, { data: tr, dim }), 0) / truths.length;
}

/** A failure message: a distance against an exact-vs-exact noise floor, with its z-score. */
export const describeFloor = (d: number, f: NoiseFloor): string =>
  `energy distance ${d.toExponential(3)}; exact-vs-exact floor ${f.mean.toExponential(3)} ± ${f.std.toExponential(3)} (z = ${((d - f.mean) / f.std).toFixed(1)})`;
