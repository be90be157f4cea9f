/**
 * Weight (de)serialisation for checkpoints. A checkpoint stores `net.getConfig()` (JSON, with `kind`) and
 * `getWeights(net)`; `networkFromConfig(config)` (./registry) rebuilds the architecture and `setWeights` loads the
 * values, checking names and shapes one by one.
 */
import * as tf from "@tensorflow/tfjs";
import { fail } from "../validate";
import type { ScoreNetwork } from "./network";

export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/**
 * Copies the network's state out (logical names, shapes, float32 values) in its fixed order: the trainable
 * variables, then fixed state such as Fourier frequencies.
 */
export function getWeights(net: ScoreNetwork): NamedWeight[] {
  return net.stateVariables.map(({ name, variable: v }) => ({
    name,
    shape: v.shape.slice(),
    values: Float32Array.from(v.dataSync() as Float32Array),
  }));
}

/**
 * Loads weights by name. Every variable of the network must be given exactly once, with its shape; extra or
 * missing names, a wrong shape or a wrong number of values are errors naming the variable (nothing is assigned
 * unless everything matches).
 */
export function setWeights(net: ScoreNetwork, weights: readonly NamedWeight[]): void {
  const W = "setWeights";
  if (!Array.isArray(weights)) fail(W, "weights", weights, "an array of {name, shape, values}");
  const byName = new Map<string, NamedWeight>();
  for (const w of weights) {
    if (byName.has(w.name)) fail(W, "weight name", w.name, "unique (given twice)");
    byName.set(w.name, w);
  }
  const state = net.stateVariables;
  const names = state.map((s) => s.name);
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) fail(W, "missing weights", missing.slice(0, 5), `present: the ${net.kind} network has ${names.length} variables`);
  const extra = [...byName.keys()].filter((n) => !names.includes(n));
  if (extra.length) fail(W, "unknown weights", extra.slice(0, 5), `names of this ${net.kind} network's variables`);
  state.forEach(({ name, variable: v }) => {
    const w = byName.get(name) as NamedWeight;
    const shapeOk = w.shape.length === v.shape.length && w.shape.every((d, j) => d === v.shape[j]);
    if (!shapeOk) fail(W, `shape of "${w.name}"`, w.shape, `[${v.shape.join(", ")}]`);
    if (w.values.length !== v.size) fail(W, `values.length of "${w.name}"`, w.values.length, `${v.size}`);
    for (let j = 0; j < w.values.length; j++) {
      if (!Number.isFinite(w.values[j])) fail(W, `"${w.name}"[${j}]`, w.values[j], "finite");
    }
  });
  state.forEach(({ name, variable: v }) => {
    const w = byName.get(name) as NamedWeight;
    tf.tidy(() => v.assign(tf.tensor(w.values, v.shape, "float32")));
  });
}
