/**
 * Probability-flow log-likelihood with exact mixture scores. With the exact score and the exact divergence the
 * only errors are the solver's and float32's, so the change-of-variables identity
 *     logp = log p_eps(x) − log p_T(z) + log π(z)
 * (analytic mixture densities at eps and T, the returned z, the prior π) must hold to the solver tolerance.
 * The official code reaches 2.9e-3 (VE), 1.3e-3 (VP), 2.2e-3 (sub-VP) nats there on the reference mixture.
 */
import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { bitsPerDimOffset, logLikelihood, LogLikelihoodResult, uniformDequantize } from "../lib/likelihood";
import { createRng } from "../lib/random";
import { SDE, SubVPSDE, timeVector, VESDE, VPSDE } from "../lib/sde";
import { anisotropicMixture, eightGaussians, GaussianMixture, gridGaussians } from "../lib/toy";
import { assertClose, assertNoLeak, reference, setup } from "./helpers";

const OFFICIAL: Record<string, number> = { VE: 2.9e-3, VP: 1.3e-3, subVP: 2.2e-3 };
const SDES: (() => SDE)[] = [() => new VESDE(), () => new VPSDE(), () => new SubVPSDE()];

/** Max |logp − identity| and the prior-mismatch gap log p_T(z) − log π(z), on the host. */
function identityError(mix: GaussianMixture, sde: SDE, x: tf.Tensor, r: LogLikelihoodResult, eps = 1e-5) {
  return tf.tidy(() => {
    const B = x.shape[0];
    const lpEps = mix.logProbAt(sde, x, timeVector(eps, B, sde.T));
    const lpT = mix.logProbAt(sde, r.z, timeVector(sde.T, B, sde.T));
    const err = r.logp.sub(lpEps.sub(lpT).add(r.priorLogp)).abs();
    const gap = lpT.sub(r.priorLogp);
    return {
      maxErr: err.max().dataSync()[0],
      gapMean: gap.mean().dataSync()[0],
      gapMaxAbs: gap.abs().max().dataSync()[0],
      // logp against the true log p_eps(x): identity error plus the prior mismatch.
      trueErr: r.logp.sub(lpEps).abs().max().dataSync()[0],
    };
  });
}

function disposeResult(r: LogLikelihoodResult): void {
  tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
  if (r.xDequantized) r.xDequantized.dispose();
}

describe("logLikelihood: change-of-variables identity with exact score and exact divergence (rtol = atol = 1e-5)", () => {
  before(setup);

  for (const make of SDES) {
    const kind = make().kind;
    it(`${kind}: reference mixture at the official vectors' points, error ≤ 5e-3 nats per point`, async (t) => {
      const sde = make();
      const mix = anisotropicMixture();
      const x = tf.tensor2d(reference().a_sde_coefficients.x as number[][]);
      const r = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact", rtol: 1e-5, atol: 1e-5, eps: 1e-5 });
      const e = identityError(mix, sde, x, r);
      t.diagnostic(`${kind} ref: max identity error ${e.maxErr.toExponential(2)} (official ${OFFICIAL[kind]}), nfe ${r.nfe}, prior gap mean ${e.gapMean.toExponential(2)} max|.| ${e.gapMaxAbs.toExponential(2)}, |logp − log p_eps| ≤ ${e.trueErr.toExponential(2)}`);
      assert.ok(e.maxErr <= 5e-3, `${kind}: identity error ${e.maxErr}`);
      // The prior mismatch is real (p_T ≠ π) but small for these SDEs; it is reported, and bounded loosely here.
      assert.ok(Number.isFinite(e.gapMaxAbs) && e.gapMaxAbs < 0.2, `${kind}: prior gap ${e.gapMaxAbs}`);
      // bpd is the documented transform of logp (offset 0 for continuous data).
      assertClose(r.bpd, Array.from(r.logp.dataSync(), (v) => -v / (2 * Math.LN2)), { rtol: 1e-6, atol: 1e-6, what: "bpd" });
      assert.equal(r.offset, 0);
      assert.equal(r.nfe, 2 + 6 * (r.nAccepted + r.nRejected));
      disposeResult(r);
      x.dispose();
      mix.dispose();
    });
  }

  for (const [name, makeMix] of [["eightGaussians", eightGaussians], ["gridGaussians", gridGaussians]] as const) {
    for (const make of SDES) {
      const kind = make().kind;
      it(`${kind}: ${name}, 8 sampled points (one official-size batch), error ≤ 2× the official reference-mixture error`, async (t) => {
        const sde = make();
        const mix = makeMix();
        const x = mix.sample(8, createRng(7));
        const r = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact" });
        const e = identityError(mix, sde, x, r);
        t.diagnostic(`${kind} ${name}: max identity error ${e.maxErr.toExponential(2)}, nfe ${r.nfe}, prior gap mean ${e.gapMean.toExponential(2)} max|.| ${e.gapMaxAbs.toExponential(2)}`);
        assert.ok(e.maxErr <= 2 * OFFICIAL[kind], `${kind} ${name}: identity error ${e.maxErr}`);
        disposeResult(r);
        x.dispose();
        mix.dispose();
      });
    }
  }
});

describe("logLikelihood: Hutchinson estimators", () => {
  before(setup);

  for (const divergence of ["rademacher", "gaussian"] as const) {
    it(`${divergence}: estimates average to the exact value, error shrinking ~1/√probes`, async (t) => {
      const sde = new VPSDE();
      const mix = anisotropicMixture();
      const score = mix.scoreFn(sde);
      const x = mix.sample(48, createRng(5));
      const exact = await logLikelihood({ sde, score, x, divergence: "exact" });
      const ex = exact.logp.dataSync();
      const rms: number[] = [];
      const counts = [1, 4, 16, 64];
      for (const probes of counts) {
        const r = await logLikelihood({ sde, score, x, divergence, probes, rng: createRng(100 + probes) });
        const v = r.logp.dataSync();
        let s = 0;
        let mean = 0;
        for (let i = 0; i < v.length; i++) {
          s += (v[i] - ex[i]) ** 2;
          mean += v[i] - ex[i];
        }
        rms.push(Math.sqrt(s / v.length));
        mean /= v.length;
        // Unbiased: the mean error over 48 points is within 4 standard errors of 0.
        assert.ok(Math.abs(mean) <= 4 * (rms[rms.length - 1] / Math.sqrt(v.length)) + 1e-3, `${divergence} probes=${probes}: mean error ${mean}`);
        disposeResult(r);
      }
      t.diagnostic(`${divergence}: RMS error vs exact for probes ${counts.join("/")}: ${rms.map((e) => e.toExponential(2)).join(" / ")}`);
      // Variance ∝ 1/probes ⇒ RMS ∝ probes^(−1/2): the least-squares slope of log RMS against log probes over
      // 1…64 probes must be near −1/2 (each RMS is itself an estimate from 48 points, hence the band).
      const lx = counts.map(Math.log);
      const ly = rms.map(Math.log);
      const mx = lx.reduce((a, b) => a + b) / lx.length;
      const my = ly.reduce((a, b) => a + b) / ly.length;
      const slope = lx.reduce((a, v, i) => a + (v - mx) * (ly[i] - my), 0) / lx.reduce((a, v) => a + (v - mx) ** 2, 0);
      t.diagnostic(`${divergence}: fitted slope of log RMS vs log probes ${slope.toFixed(3)} (theory −0.5)`);
      assert.ok(slope > -0.65 && slope < -0.38, `${divergence}: slope ${slope}`);
      for (let k = 1; k < rms.length; k++) assert.ok(rms[k] < rms[k - 1], `${divergence}: RMS must fall with more probes`);
      disposeResult(exact);
      x.dispose();
      mix.dispose();
    });
  }

  it("probes are drawn once per call through rng: the same seed gives the same logp", async () => {
    const sde = new VESDE();
    const mix = anisotropicMixture();
    const x = mix.sample(8, createRng(9));
    const a = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "rademacher", rng: createRng(1) });
    const b = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "rademacher", rng: createRng(1) });
    assert.deepEqual(Array.from(a.logp.dataSync()), Array.from(b.logp.dataSync()));
    assert.equal(a.nfe, b.nfe);
    disposeResult(a);
    disposeResult(b);
    x.dispose();
    mix.dispose();
  });
});

describe("bits/dim offset and dequantisation", () => {
  before(setup);

  it("bitsPerDimOffset is the official 7 − inverse_scaler(−1): 7 for [−1, 1], 8 for [0, 1]", () => {
    assert.equal(bitsPerDimOffset(), 7);
    assert.equal(bitsPerDimOffset({ range: [0, 1] }), 8);
    assert.equal(bitsPerDimOffset({ bits: 5, range: [0, 1] }), 5);
    assert.throws(() => bitsPerDimOffset({ range: [1, 1] }), /dequantize\.range/);
  });

  it("uniformDequantize puts level k into its own bin [lo + k w, lo + (k+1) w)", () => {
    const levels = tf.tensor2d([[0, 255], [128, 7]]);
    const x = uniformDequantize(levels, createRng(2));
    const v = x.dataSync();
    const k = levels.dataSync();
    for (let i = 0; i < v.length; i++) {
      assert.ok(v[i] >= -1 + (k[i] * 2) / 256 && v[i] < -1 + ((k[i] + 1) * 2) / 256, `value ${v[i]} for level ${k[i]}`);
    }
    assert.throws(() => uniformDequantize(tf.tensor2d([[0.5, 3]]), createRng(2)), /integer level in \[0, 255\]/);
    assert.throws(() => uniformDequantize(tf.tensor2d([[256, 3]]), createRng(2)), /levels \(flat index 0\) = 256/);
    tf.dispose([levels, x]);
  });

  it("with dequantize, x holds levels, the offset defaults to 7 and bpd = −logp/(D ln 2) + 7", async () => {
    const sde = new VPSDE();
    const mix = anisotropicMixture();
    // Levels whose dequantised values land near the mixture's support in [−1, 1]².
    const levels = tf.tensor2d([[200, 220], [60, 150], [128, 40]]);
    const r = await logLikelihood({ sde, score: mix.scoreFn(sde), x: levels, divergence: "exact", dequantize: {}, rng: createRng(4) });
    assert.equal(r.offset, 7);
    assert.ok(r.xDequantized);
    assertClose(r.bpd, Array.from(r.logp.dataSync(), (v) => -v / (2 * Math.LN2) + 7), { rtol: 1e-6, atol: 1e-5, what: "bpd" });
    // The likelihood is evaluated at the dequantised points.
    const e = identityError(mix, sde, r.xDequantized!, r);
    assert.ok(e.maxErr <= 5e-3);
    const r2 = await logLikelihood({ sde, score: mix.scoreFn(sde), x: levels, divergence: "exact", dequantize: {}, rng: createRng(4), offset: 0 });
    assert.equal(r2.offset, 0);
    disposeResult(r);
    disposeResult(r2);
    levels.dispose();
    mix.dispose();
  });
});

describe("logLikelihood: bad inputs and resources", () => {
  before(setup);

  it("bad inputs raise errors naming the parameter, its value and what is allowed", async () => {
    const sde = new VPSDE();
    const mix = anisotropicMixture();
    const score = mix.scoreFn(sde);
    const x = tf.tensor2d([[0.1, 0.2], [0.3, -0.4]]);
    const nan = tf.tensor2d([[0.1, NaN]]);
    const ex = { sde, score, divergence: "exact" as const };
    await assert.rejects(logLikelihood({ ...ex, x: nan }), /logLikelihood: x contains NaN at flat index 1/);
    await assert.rejects(logLikelihood({ ...ex, x: tf.tensor1d([1, 2]) }), /logLikelihood: x\.shape = \[2\] is not allowed/);
    // Wrong data dimension for the score: the mixture names it (seen on the batch copies the exact trace uses).
    await assert.rejects(logLikelihood({ ...ex, x: tf.zeros([2, 3]) }), /GaussianMixture\.scoreAt: x\.shape = \[\d+, 3\] is not allowed/);
    for (const eps of [0, -1e-5, 1, 1.5, NaN]) {
      await assert.rejects(logLikelihood({ ...ex, x, eps }), new RegExp(`eps = ${Number.isNaN(eps) ? "NaN" : eps} is not allowed; eps must be a number in \\(0, T\\)`));
    }
    await assert.rejects(logLikelihood({ ...ex, x, rtol: 0 }), /rtol = 0 is not allowed/);
    await assert.rejects(logLikelihood({ ...ex, x, rtol: -1e-5 }), /rtol = -0.00001 is not allowed/);
    await assert.rejects(logLikelihood({ sde, score, x, divergence: "trace" as never }), /divergence = "trace" is not allowed; divergence must be one of "exact", "rademacher", "gaussian"/);
    await assert.rejects(logLikelihood({ sde, score, x, divergence: "rademacher" }), /rng = undefined is not allowed; rng must be an Rng .* rademacher probes/);
    await assert.rejects(logLikelihood({ ...ex, x, probes: 4 }), /probes = 4 is not allowed/);
    await assert.rejects(logLikelihood({ sde, score, x, divergence: "gaussian", rng: createRng(1), probes: 0 }), /probes = 0/);
    await assert.rejects(logLikelihood({ ...ex, x, offset: NaN }), /offset = NaN/);
    await assert.rejects(logLikelihood({ ...ex, x, maxSteps: 3 }), /maxSteps = 3 attempted steps reached/);
    tf.dispose([x, nan]);
    mix.dispose();
  });

  it("progress: a final line with 100 % and the solve's NFE when asked for, nothing by default outside a kernel or TTY", async () => {
    const sde = new VPSDE();
    const mix = eightGaussians();
    const x = mix.sample(4, createRng(2));
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string | Uint8Array) => (written.push(String(s)), true)) as typeof process.stderr.write;
    let quiet: LogLikelihoodResult;
    let shown: LogLikelihoodResult;
    try {
      quiet = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact" });
      assert.equal(process.stderr.isTTY ? -1 : written.length, process.stderr.isTTY ? -1 : 0, "no line in a pipe");
      written.length = 0;
      shown = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact", progress: true, progressLabel: "toy NLL" });
    } finally {
      process.stderr.write = write;
    }
    const last = written.join("").trim().split(/[\r\n]/).pop()!;
    assert.match(last, new RegExp(`^toy NLL  100%  NFE ${shown.nfe}  elapsed \\d+s$`));
    assert.equal(shown.nfe, quiet.nfe, "progress does not change the solve");
    disposeResult(quiet);
    disposeResult(shown);
    x.dispose();
    mix.dispose();
  });

  it("no tensor leaks over full solves (exact, multi-probe Hutchinson, dequantised)", async () => {
    const sde = new SubVPSDE();
    const mix = anisotropicMixture();
    const score = mix.scoreFn(sde);
    const x = mix.sample(6, createRng(3));
    disposeResult(await logLikelihood({ sde, score, x, divergence: "exact" })); // warm-up: the mixture's cached constants
    await assertNoLeak(async () => {
      disposeResult(await logLikelihood({ sde, score, x, divergence: "exact", maxRowsPerPass: 6 })); // two passes
      disposeResult(await logLikelihood({ sde, score, x, divergence: "gaussian", probes: 3, rng: createRng(1) }));
      const levels = tf.tensor2d([[100, 200]]);
      disposeResult(await logLikelihood({ sde, score, x: levels, divergence: "rademacher", dequantize: { range: [0, 1] }, rng: createRng(1) }));
      levels.dispose();
      // A solve that fails part-way (step cap) releases its probes and intermediates too.
      await assert.rejects(logLikelihood({ sde, score, x, divergence: "rademacher", probes: 2, rng: createRng(1), maxSteps: 2 }), /maxSteps = 2/);
    }, "logLikelihood");
    x.dispose();
    mix.dispose();
  });

  it("accepts the official NCHW layout: [B, 2, 1, 1] gives the same log p as [B, 2]", async () => {
    const sde = new VPSDE();
    const mix = anisotropicMixture();
    const x = mix.sample(4, createRng(15));
    const x4 = x.reshape([4, 2, 1, 1]);
    const a = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact" });
    const b = await logLikelihood({ sde, score: mix.scoreFn(sde), x: x4, divergence: "exact" });
    assert.deepEqual(b.z.shape, [4, 2, 1, 1]);
    assert.equal(b.nfe, a.nfe);
    assertClose(b.logp, Array.from(a.logp.dataSync()), { rtol: 0, atol: 1e-6, what: "NCHW logp" });
    disposeResult(a);
    disposeResult(b);
    tf.dispose([x, x4]);
    mix.dispose();
  });

  it("an image-sized exact trace runs in passes of at most 2¹⁷ / D rows by default (784 rows at once overran wasm's heap)", async () => {
    // VP keeps N(0, I) data at N(0, I) for all t, so s(x, t) = −x is its exact score and log p(x) is closed-form.
    const sde = new VPSDE();
    let widest = 0;
    const score = (x: tf.Tensor) => {
      widest = Math.max(widest, x.shape[0]);
      return tf.neg(x);
    };
    const x = createRng(5).normal([1, 28, 28, 1]);
    const r = await logLikelihood({ sde, score, x, divergence: "exact" });
    assert.equal(widest, Math.floor(2 ** 17 / 784)); // 167 rows: five passes for the 784 one-hot rows
    const sq = (x.square().sum().dataSync() as Float32Array)[0];
    assertClose(r.logp, [-0.5 * sq - 392 * Math.log(2 * Math.PI)], { rtol: 1e-5, atol: 0, what: "log N(x; 0, I)" });
    disposeResult(r);
    x.dispose();
  });

  it("chunked exact divergence (one replica per pass) equals the single-pass result", async () => {
    const sde = new VESDE();
    const mix = anisotropicMixture();
    const x = mix.sample(4, createRng(12));
    const a = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact" });
    const b = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact", maxRowsPerPass: 4 });
    assertClose(b.logp, Array.from(a.logp.dataSync()), { rtol: 0, atol: 1e-5, what: "chunked logp" });
    disposeResult(a);
    disposeResult(b);
    x.dispose();
    mix.dispose();
  });
});
