/** Per-mode statistics of samples against a Gaussian mixture (lib/metrics/summary.ts), against known transformations. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { createRng } from "../lib/random";
import { mean, modeStats, std } from "../lib/metrics";
import { eightGaussians } from "../lib/toy";
import { setup } from "./helpers";
import { foldToModes } from "../notebooks/experiments";

before(setup);

describe("mean and std", () => {
  it("mean and the n − 1 standard deviation of known values", () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    assert.ok(Math.abs(std([1, 2, 3, 4]) - Math.sqrt(5 / 3)) < 1e-15);
    assert.equal(std([7]), 0);
    assert.ok(Number.isNaN(mean([])));
  });
});

describe("modeStats", () => {
  const mix = eightGaussians({ std: 0.05 });
  const t = mix.sample(20000, createRng(5));
  const pts = Float64Array.from(t.dataSync());
  t.dispose();

  it("true samples: spread ratio ≈ 1, small weight TV, no mean shift", () => {
    const s = modeStats(mix, pts, 2);
    assert.ok(Math.abs(s.varRatio - 1) < 0.03, `varRatio ${s.varRatio}`);
    assert.ok(s.weightTV < 0.02, `TV ${s.weightTV}`);
    assert.ok(s.meanShift < 0.05, `shift ${s.meanShift}`);
  });

  it("scaling every point about its mode centre by c multiplies the spread ratio by c²", () => {
    const base = modeStats(mix, pts, 2).varRatio;
    const folded = foldToModes(mix.means, Array.from(pts));
    const scaled = pts.map((v, i) => v - folded[i] + 0.9 * folded[i]);
    const s = modeStats(mix, scaled, 2);
    assert.ok(Math.abs(s.varRatio / base - 0.81) < 1e-9, `${s.varRatio / base}`);
  });

  it("moving all points to one mode gives weight TV 1 − w", () => {
    const one = new Float64Array(200).map((_, i) => (i % 2 === 0 ? 2 : 0));
    assert.ok(Math.abs(modeStats(mix, one, 2).weightTV - 7 / 8) < 1e-12);
  });
});

