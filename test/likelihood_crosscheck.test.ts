/**
 * logLikelihood against an independent implementation: tools/crosscheck/likelihood_scipy.py solves the same
 * probability-flow likelihood ODE with scipy's solve_ivp (Debian python3-scipy 1.10.1, the official vectors' version)
 * and an analytic mixture score and Hessian trace in float64 (no autodiff). Its numbers are in
 * test/fixtures/likelihood_scipy.json. Same problem, same solver semantics ⇒ same nfev and the same log p up to the
 * solver tolerance and float32 (our right-hand side runs in float32, as the official code's).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { logLikelihood } from "../lib/likelihood";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../lib/sde";
import { anisotropicMixture } from "../lib/toy";
import { assertClose, ROOT, setup } from "./helpers";

interface Solve {
  nfev: number;
  logp: number[];
  z: number[][];
  delta_logp: number[];
  identity_max_abs_error: number;
}
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "likelihood_scipy.json"), "utf8")) as {
  scipy_version: string;
  x: number[][];
  eps: number;
  rtol: number;
  atol: number;
  per_sde: Record<string, { float64: Solve; float32: Solve }>;
};

describe(`logLikelihood vs an independent NumPy/scipy ${fixture.scipy_version} implementation (reference mixture, section-a points)`, () => {
  before(setup);
  const sdes: [string, () => SDE][] = [
    ["VE", () => new VESDE()],
    ["VP", () => new VPSDE()],
    ["subVP", () => new SubVPSDE()],
  ];
  for (const [kind, make] of sdes) {
    it(`${kind}: same nfev (within one step), δ(T), z and log p within tolerance`, async (t) => {
      const sde = make();
      const mix = anisotropicMixture();
      const x = tf.tensor2d(fixture.x);
      const r = await logLikelihood({ sde, score: mix.scoreFn(sde), x, divergence: "exact", eps: fixture.eps, rtol: fixture.rtol, atol: fixture.atol });
      const ref = fixture.per_sde[kind];
      t.diagnostic(`${kind}: nfe ours ${r.nfe}, scipy float64 ${ref.float64.nfev}, scipy float32 RHS ${ref.float32.nfev}`);
      // Same algorithm and step control: the counts agree up to a step taken differently where float32 rounding
      // tips an accept/reject decision (the official README allows ±20 %).
      assert.ok(Math.abs(r.nfe - ref.float64.nfev) <= 12, `nfe ${r.nfe} vs scipy ${ref.float64.nfev}`);
      assert.ok(Math.abs(r.nfe - ref.float32.nfev) <= 0.2 * ref.float32.nfev, `nfe ${r.nfe} vs scipy float32 ${ref.float32.nfev}`);
      assertClose(r.deltaLogp, ref.float64.delta_logp, { rtol: 0, atol: 2e-4, what: `${kind} δ(T)` });
      // z is on the prior's scale (hundreds for VE from the outlier point): relative 1e-5 plus a small absolute part.
      assertClose(r.z, ref.float64.z, { rtol: 2e-5, atol: 1e-4, what: `${kind} z` });
      // log p: absolute 2e-3 (the reference README's suggestion for float32 ODE outputs); the largest gap is at the
      // outlier (3.5, −4) with log p ≈ −121, where float32 alone costs ~1e-5 relative.
      assertClose(r.logp, ref.float64.logp, { rtol: 0, atol: 2e-3, what: `${kind} logp` });
      tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp, x]);
      mix.dispose();
    });
  }
});
