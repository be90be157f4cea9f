/** The fast host-side exact mixture score (lib/toy/hostScore.ts) against the library's tensor version. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { anisotropicMixture, eightGaussians, hostMixtureScore } from "../lib/toy";
import { setup } from "./helpers";

before(setup);

describe("hostMixtureScore", () => {
  for (const mix of [anisotropicMixture(), eightGaussians({ std: 0.05 })]) {
    for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE()]) {
      it(`equals GaussianMixture.scoreFn: ${mix.name} under ${sde.kind}`, () => {
        const rng = createRng(3);
        const fast = hostMixtureScore(mix, sde);
        const lib = mix.scoreFn(sde);
        let worst = 0;
        for (const t of [1e-5, 1e-3, 0.01, 0.1, 0.5, 1]) {
          tf.tidy(() => {
            const x0 = mix.sample(64, rng);
            const tv = tf.fill([64], t);
            const { mean, std } = sde.marginalCoefficients(tv);
            const xt = x0.mul(mean.reshape([64, 1])).add(rng.normal([64, 2]).mul(std.reshape([64, 1])));
            const a = fast(xt, tv).dataSync();
            const b = lib(xt, tv).dataSync();
            let num = 0;
            let den = 0;
            for (let i = 0; i < a.length; i++) {
              num += (a[i] - b[i]) ** 2;
              den += b[i] ** 2;
            }
            worst = Math.max(worst, Math.sqrt(num / den));
          });
        }
        // The library works in float32 (documented accuracy floor); relative RMS agreement well below 1e-3.
        assert.ok(worst < 2e-4, `relative RMS difference ${worst}`);
      });
    }
  }

  it("handles per-example times and frees what it makes", () => {
    const mix = anisotropicMixture();
    const sde = new VPSDE();
    const fast = hostMixtureScore(mix, sde);
    const x = tf.tensor2d([0.1, 0.2, -1, 0.5, 0, -1], [3, 2]);
    const t = tf.tensor1d([0.01, 0.3, 0.9]);
    const a = tf.tidy(() => fast(x, t).dataSync());
    const b = tf.tidy(() => mix.scoreFn(sde)(x, t).dataSync());
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `${i}: ${a[i]} vs ${b[i]}`);
    const before = tf.memory().numTensors;
    const out = fast(x, t);
    assert.equal(tf.memory().numTensors, before + 1); // only the result
    tf.dispose([out, x, t]);
  });
});

