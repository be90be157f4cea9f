/** lib/perf/fastOps: same numbers as the ops they replace. */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setup } from "../helpers";
import { linear } from "../../lib/models";
import { SINCOS_MAX_ABS, linearFast, readSync, sinCos } from "../../lib/perf/fastOps";

describe("fast ops", () => {
  before(setup);

  it("sinCos matches float64 sin/cos of the float32 input to 1e-6 for |x| ≤ SINCOS_MAX_ABS", () => {
    const n = 20000;
    const xs = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // Small, medium and extreme magnitudes, both signs, plus exact multiples of π/2 near the reduction edges.
      const scale = i % 3 === 0 ? 4 : i % 3 === 1 ? 400 : 0.999 * SINCOS_MAX_ABS;
      xs[i] = i < 40 ? (i - 20) * (Math.PI / 2) : (((i * 7919) % 10007) / 10007 - 0.5) * 2 * scale;
    }
    const x = tf.tensor1d(xs);
    const s = readSync(() => sinCos(x)[0]);
    const c = readSync(() => sinCos(x)[1]);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(s[i] - Math.sin(xs[i])), Math.abs(c[i] - Math.cos(xs[i])));
    assert.ok(worst <= 1e-6, `max |error| ${worst}`);
    if (process.env.SCORE_SDE_VERBOSE) console.log(`sinCos max |error| ${worst}`);
    // With the bound given (hot-loop form) the result is the same.
    const s2 = readSync(() => sinCos(x, SINCOS_MAX_ABS)[0]);
    assert.deepEqual(Array.from(s2), Array.from(s));
  });

  it("sinCos falls back to tf.sin / tf.cos beyond its exact range", () => {
    const x = tf.tensor1d([1e6, -3e5, 0.5]);
    const [s, c] = sinCos(x);
    assert.deepEqual(Array.from(s.dataSync()), Array.from(tf.sin(x).dataSync()));
    assert.deepEqual(Array.from(c.dataSync()), Array.from(tf.cos(x).dataSync()));
  });

  it("readSync returns the values and frees the tensors", () => {
    const before = tf.memory().numTensors;
    const v = readSync(() => tf.range(0, 5).square());
    assert.deepEqual(Array.from(v), [0, 1, 4, 9, 16]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("linearFast has the value and the gradients of models' linear", () => {
    const x = tf.randomNormal([37, 5], 0, 1, "float32", 1);
    const w = tf.randomNormal([5, 3], 0, 1, "float32", 2);
    const b = tf.randomNormal([3], 0, 1, "float32", 3);
    const f = (lin: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => lin(xx, ww, bb).square().sum());
    const [ga, gb] = [f(linear)([x, w, b]), f(linearFast)([x, w, b])];
    for (let i = 0; i < 3; i++) {
      const a = ga[i].dataSync();
      const q = gb[i].dataSync();
      assert.deepEqual(ga[i].shape, gb[i].shape);
      for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - q[j]) <= 1e-4 * (1 + Math.abs(a[j])), `grad ${i}[${j}]: ${a[j]} vs ${q[j]}`);
    }
    assert.deepEqual(Array.from(linearFast(x, w, b).dataSync()), Array.from(linear(x, w, b).dataSync()));
    assert.throws(() => linearFast(x, b.reshape([3, 1]), b), /linearFast: shapes/);
  });
});
