/**
 * Timing of a network's forward and forward+backward passes on the active backend (for notebooks, reports and
 * the benchmark scripts; never used in timed tests). Reports wall time and this process's CPU time: on a shared
 * machine the wall time mostly measures the neighbours, the CPU time the work.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../random";
import { checkPositiveInt } from "../validate";
import type { ScoreNetwork } from "./network";

export interface NetworkTiming {
  backend: string;
  paramCount: number;
  batch: number;
  /** Per call, milliseconds. */
  forwardWallMs: number;
  forwardCpuMs: number;
  /** One gradient step: forward + backward through all trainable variables (no optimiser update). */
  backwardWallMs: number;
  backwardCpuMs: number;
}

function timeIt(repeats: number, f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / repeats, cpu: (c.user + c.system) / 1000 / repeats };
}

/**
 * Times `net` on a batch of standard normal inputs of shape [batch, ...dataShape] with labels `label` (default 0.5;
 * pass a positive value for Fourier-embedded nets). One warm-up call of each kind is not counted.
 */
export function benchmarkNetwork(
  net: ScoreNetwork,
  dataShape: readonly number[],
  { batch = 64, repeats = 3, label = 0.5, seed = 0 }: { batch?: number; repeats?: number; label?: number; seed?: number } = {},
): NetworkTiming {
  checkPositiveInt("benchmarkNetwork", "batch", batch);
  checkPositiveInt("benchmarkNetwork", "repeats", repeats);
  const x = createRng(seed).normal([batch, ...dataShape]);
  const lab = tf.fill([batch], label);
  try {
    const fwd = () => tf.tidy(() => void net.apply(x, lab).dataSync());
    const bwd = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => net.apply(x, lab).square().mean() as tf.Scalar, net.trainableVariables as tf.Variable[]);
        // Reading every gradient forces the whole backward pass to run.
        for (const g of Object.values(grads)) g.dataSync();
        value.dataSync();
      });
    fwd();
    const f = timeIt(repeats, fwd);
    bwd();
    const b = timeIt(repeats, bwd);
    return {
      backend: tf.getBackend(),
      paramCount: net.paramCount,
      batch,
      forwardWallMs: f.wall,
      forwardCpuMs: f.cpu,
      backwardWallMs: b.wall,
      backwardCpuMs: b.cpu,
    };
  } finally {
    tf.dispose([x, lab]);
  }
}
