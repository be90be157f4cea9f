/**
 * Inputs that used to give silently wrong numbers or a late raw error (issue #12): an SDE with N beyond what its
 * float32 step index can address, Gaussian mixtures beyond float32 range, points whose log-density is below
 * float32's range.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { GaussianMixture } from "../lib/toy";
import { SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { setup } from "./helpers";

before(setup);

describe("SDE N", () => {
  it("N = 1e12 (and any N above 2^24, or not an integer) is refused naming the allowed range", () => {
    for (const make of [(N: number) => new VESDE({ N }), (N: number) => new VPSDE({ N }), (N: number) => new SubVPSDE({ N })]) {
      assert.throws(() => make(1e12), /N = 1000000000000 is not allowed; N must be a positive integer ≤ 2\^24 = 16777216/);
      assert.throws(() => make(2 ** 24 + 1), /N = 16777217 is not allowed/);
      assert.throws(() => make(0), /N = 0 is not allowed/);
      assert.throws(() => make(10.5), /N = 10.5 is not allowed/);
      assert.equal(make(2 ** 24).N, 2 ** 24);
    }
  });
});

describe("GaussianMixture beyond float32", () => {
  const unit = [[1, 0], [0, 1]];

  it("means or covariances outside float32's range are refused naming the entry", () => {
    assert.throws(() => new GaussianMixture({ weights: [1], means: [[1e39, 0]], covariances: [unit] }), /means\[0\]\[0\] = 1e\+39 is not allowed.*float32/);
    assert.throws(() => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1e40, 0], [0, 1]]] }), /covariances\[0\]\[0\]\[0\] = 1e\+40 is not allowed.*float32/);
    assert.throws(
      () => new GaussianMixture({ weights: [1], means: [[0, 0]], covariances: [[[1e-40, 0], [0, 1e-40]]] }),
      /covariances\[0\] = .* eigenvalues lie in float32's normal range/,
    );
  });

  it("a point whose log-density is below −3.4e38 gets −Infinity (its float32 value), not NaN; near points stay exact", () => {
    const g = new GaussianMixture({ weights: [0.5, 0.5], means: [[0, 0], [1e20, 0]], covariances: [unit, unit] });
    const x = tf.tensor2d([[0, 0], [1e20, 0], [5e19, 0], [-1e30, 3]]);
    const lp = Array.from(g.logProb(x).dataSync());
    // log p(0) = log ½ − log 2π (the far component contributes nothing); the same at the far mean.
    const at = Math.log(0.5) - Math.log(2 * Math.PI);
    assert.ok(Math.abs(lp[0] - at) < 1e-5 && Math.abs(lp[1] - at) < 1e-5, `${lp}`);
    // Halfway: −(5e19)²/2 = −1.25e39, below float32's range; far beyond: −5e59.
    assert.deepEqual(lp.slice(2), [-Infinity, -Infinity]);
    // The same under an SDE marginal.
    const t = tf.tensor1d([0.5, 0.5, 0.5, 0.5]);
    const lpt = Array.from(g.logProbAt(new VPSDE(), x, t).dataSync());
    assert.ok(lpt.every((v) => !Number.isNaN(v)), `${lpt}`);
    tf.dispose([x, t]);
    g.dispose();
  });
});
