/** tools/bench/fast-ops (the bench's fast-path helpers): same numbers as the ops they replace. */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setup } from "../helpers";
import { SINCOS_MAX_ABS, readSync, sinCos } from "../../tools/bench/fast-ops";

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
});
