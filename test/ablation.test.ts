/** The ablation runners (lib/ablation): the fast host score against the library's, the per-mode statistics against
 * known transformations, the paired comparisons, a real (small) PC run, the result files and slerp. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { anisotropicMixture, eightGaussians } from "../lib/toy";
import {
  cachedResult,
  foldToModes,
  hostMixtureScore,
  makeReference,
  modeStats,
  paired,
  PcRunRow,
  runPcConfig,
  slerp,
  summarize,
  table1Claims,
  table1Layout,
  toCsv,
  verdict,
} from "../lib/ablation";
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

describe("paired comparisons and claims", () => {
  const row = (r: string, column: PcRunRow["column"], seed: number, ed: number): PcRunRow => ({
    sde: "VE", row: r, column, predictor: "x", corrector: "y", probabilityFlow: false, N: 1000, nSteps: 1, snr: 0, seed, samples: 10,
    energyDistance: ed, deltaCE: 0, varRatio: 1 + ed, weightTV: 0, nfe: 1, scoreEvals: 1, seconds: 0,
  });
  // Seed effects shared by both configurations cancel in the paired difference.
  const runs: PcRunRow[] = [];
  for (const seed of [0, 1, 2, 3, 4]) {
    const common = [5, 1, 9, 3, 7][seed];
    runs.push(row("reverse diffusion", "PC1000", seed, common + 0.1 * seed * 0.01), row("reverse diffusion", "P1000", seed, common + 1 + 0.01 * seed));
    runs.push(row("corrector only", "C2000", seed, common + 2));
  }

  it("paired difference removes the shared seed effect", () => {
    const c = paired(runs, "VE", ["reverse diffusion", "PC1000"], ["reverse diffusion", "P1000"], "energyDistance");
    assert.equal(c.seeds, 5);
    assert.ok(Math.abs(c.diffMean - -1.018) < 1e-9, `${c.diffMean}`);
    assert.equal(verdict(c), "holds");
    const rev = paired(runs, "VE", ["reverse diffusion", "P1000"], ["reverse diffusion", "PC1000"], "energyDistance");
    assert.equal(verdict(rev), "reversed");
  });

  it("an unresolved difference is not called", () => {
    assert.equal(verdict({ diffMean: -0.1, diffStd: 1, t: -0.2, seeds: 5 }), "not resolved");
    assert.equal(verdict({ diffMean: -1, diffStd: 0, t: -Infinity, seeds: 1 }), "not resolved");
  });

  it("claims and the paper layout are built from the runs present", () => {
    const claims = table1Claims(runs, "energyDistance");
    const pc = claims.find((c) => c.claim === "PC1000 beats P1000" && c.better.includes("reverse diffusion"));
    assert.ok(pc && pc.verdict === "holds");
    const c2 = claims.find((c) => c.claim === "PC1000 beats C2000" && c.better.includes("reverse diffusion"));
    assert.ok(c2 && c2.verdict === "holds" && c2.paperFid === "3.6 < 20.43");
    const layout = table1Layout(summarize(runs), (s) => s.edMean);
    const rd = layout.find((r) => r.predictor === "reverse diffusion")!;
    assert.equal(rd["VE C2000"], 7);
    assert.equal(rd["VP P1000"], "–");
  });
});

describe("runPcConfig", () => {
  it("samples the mixture with the library's pcSample and scores it (VP, reverse diffusion, P1000)", async () => {
    const mix = eightGaussians({ std: 0.2 });
    const ref = makeReference(mix, 2000, 1);
    const before = tf.memory().numTensors;
    const { row, samples } = await runPcConfig({ sde: "VP", row: "reverse diffusion", column: "P1000" }, 0, 300, ref, (sde) => hostMixtureScore(mix, sde));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(samples.length, 600);
    assert.equal(row.nfe, 2000); // official count N (nSteps + 1) with nSteps = 1
    assert.equal(row.scoreEvals, 1000);
    // An exact-score sampler: mode spread and balance close to the truth at 300 points.
    assert.ok(Math.abs(row.varRatio - 1) < 0.2, `varRatio ${row.varRatio}`);
    assert.ok(row.weightTV < 0.15, `TV ${row.weightTV}`);
    assert.ok(row.energyDistance < 0.02, `ED ${row.energyDistance}`);
  });
});

describe("results and helpers", () => {
  it("quick mode computes and writes nothing", async () => {
    let calls = 0;
    const r = await cachedResult("should_not_exist_quick", { a: 1 }, true, async () => ++calls, () => ({ "": [{ x: 1 }] }));
    assert.equal(calls, 1);
    assert.equal(r.reused, false);
    assert.deepEqual(r.files, []);
  });

  it("toCsv quotes what needs quoting", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "abl-"));
    const csv = toCsv([{ a: 1, b: "x,y" }, { a: 0.123456789, c: 'q"' }]);
    assert.equal(csv, 'a,b,c\n1,"x,y",\n0.123457,,"q"""\n');
    fs.rmSync(dir, { recursive: true });
  });

  it("slerp keeps the end points and interpolates norms", () => {
    assert.deepEqual(slerp([1, 0], [0, 2], 0).map((v) => Number(v.toFixed(12))), [1, 0]);
    assert.deepEqual(slerp([1, 0], [0, 2], 1).map((v) => Number(v.toFixed(12))), [0, 2]);
    const mid = slerp([1, 0], [0, 1], 0.5);
    assert.ok(Math.abs(Math.hypot(...mid) - 1) < 1e-12);
  });
});
