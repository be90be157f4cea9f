/**
 * The RK tableau / step-size controller split (lib/ode): the Bogacki–Shampine 3(2) pair (`BOSH3`, scipy's RK23)
 * in the shared adaptive driver against scipy's solve_ivp(method="RK23") (tools/crosscheck/rk23_scipy.py, Debian
 * python3-scipy 1.10.1, test/fixtures/rk23_scipy.json): same evaluations, accepted and rejected steps, same final
 * states to 1e-12. And the orders of both pairs on fixed steps (firstStep = maxStep, loose tolerances so every step
 * is accepted): global error ∝ h³ for BOSH3, h⁵ for DOPRI5. (RK45 against scipy's RK45 is test/rk45.test.ts.)
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { BOSH3, DOPRI5, checkTableau, odeSample, solveRk45 } from "../lib/ode";
import { createRng } from "../lib/random";
import { VPSDE } from "../lib/sde";
import { MU, gaussianScore, sdAt } from "../notebooks/experiments/gaussianTarget";
import { ROOT, setup } from "./helpers";

// The problems of tools/crosscheck/rk45_scipy.py (by name), as test/rk45.test.ts.
const RATES = [0.5, 2.0, 5.0];
const OMEGA = 2.0;
const R = 1.5;
const CAP = 10.0;
const decay = (_t: number, y: Float64Array) => Float64Array.from(y, (v, i) => -RATES[i] * v);
const osc = (_t: number, y: Float64Array) => Float64Array.of(y[1], -OMEGA * OMEGA * y[0]);
const logistic = (_t: number, y: Float64Array) => Float64Array.of(R * y[0] * (1 - y[0] / CAP));
const PROBLEMS: Record<string, { f: (t: number, y: Float64Array) => Float64Array; t0: number; t1: number; y0: number[] }> = {
  decay: { f: decay, t0: 0, t1: 3, y0: [1, -2, 0.5] },
  oscillator: { f: osc, t0: 0, t1: 10, y0: [1, 0] },
  logistic: { f: logistic, t0: 0, t1: 8, y0: [0.1] },
  logistic_backward: { f: logistic, t0: 8, t1: 0, y0: [9] },
  oscillator_backward: { f: osc, t0: 5, t1: -1, y0: [0.3, -1.2] },
};

interface Case {
  problem: string;
  rtol: number;
  atol: number;
  nfev: number;
  n_accepted: number;
  n_rejected: number;
  y_final: number[];
}
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "rk23_scipy.json"), "utf8")) as { scipy_version: string; cases: Case[] };

describe("RK tableaus in the shared adaptive driver", () => {
  it("odeSample with BOSH3 follows the Gaussian target's exact flow map, in fewer NFE than RK45 at a loose tolerance", async () => {
    await setup();
    const sde = new VPSDE();
    const eps = sde.defaultEps;
    const run = async (tableau: typeof BOSH3, tol: number) => {
      const z = sde.priorSample([4, 2], createRng(0));
      const zs = Array.from(z.dataSync());
      const r = await odeSample({ sde, score: gaussianScore(sde), z, tableau, rtol: tol, atol: tol });
      const x = Array.from(r.samples.dataSync());
      tf.dispose([z, r.samples]);
      // x_eps = α_eps μ + (sd_eps / sd_T)(x_T − α_T μ), per coordinate.
      const err = Math.max(...x.map((v, i) => Math.abs(v - (sde.alphaAt(eps) * MU[i % 2] + (sdAt(sde, eps, i % 2) / sdAt(sde, 1, i % 2)) * (zs[i] - sde.alphaAt(1) * MU[i % 2])))));
      return { nfe: r.nfe, err };
    };
    const tight = await run(BOSH3, 1e-6);
    assert.ok(tight.err < 1e-4, `RK23 at 1e-6: max error ${tight.err}`);
    const loose23 = await run(BOSH3, 1e-2);
    const loose45 = await run(DOPRI5, 1e-2);
    assert.ok(loose23.nfe < loose45.nfe, `RK23 ${loose23.nfe} vs RK45 ${loose45.nfe} evaluations at 1e-2`);
  });

  it("BOSH3 equals scipy's RK23: nfev, accepted and rejected steps exactly, final states to 1e-12", () => {
    assert.ok(fixture.cases.length >= 15);
    for (const c of fixture.cases) {
      const p = PROBLEMS[c.problem];
      const r = solveRk45(p.f, [p.t0, p.t1], p.y0, { rtol: c.rtol, atol: c.atol, tableau: BOSH3 });
      const what = `${c.problem} rtol=${c.rtol} atol=${c.atol} (scipy ${fixture.scipy_version})`;
      assert.equal(r.nfev, c.nfev, `${what}: nfev`);
      assert.equal(r.nAccepted, c.n_accepted, `${what}: accepted`);
      assert.equal(r.nRejected, c.n_rejected, `${what}: rejected`);
      c.y_final.forEach((v, i) => assert.ok(Math.abs(r.y[i] - v) <= 1e-12 * Math.max(1, Math.abs(v)), `${what}: y[${i}] ${r.y[i]} vs ${v}`));
    }
  });

  it("fixed-step orders: BOSH3 3, DOPRI5 5 (fitted slopes within ±0.25) on y' = −y·(1 + sin t)", () => {
    const f = (t: number, y: Float64Array) => Float64Array.of(-y[0] * (1 + Math.sin(t)));
    const exact = Math.exp(-(2 + 1 - Math.cos(2)));
    for (const [tab, order, Ns] of [[BOSH3, 3, [16, 32, 64]], [DOPRI5, 5, [16, 32, 64]]] as const) {
      const errs = Ns.map((N) => {
        const h = 2 / N;
        const r = solveRk45(f, [0, 2], [1], { tableau: tab, firstStep: h, maxStep: h, rtol: 1, atol: 1e3 });
        assert.equal(r.nAccepted, N);
        assert.equal(r.nfev, 1 + tab.c.length * N);
        return Math.abs(r.y[0] - exact);
      });
      const k = Math.log(errs[0] / errs[2]) / Math.log(Ns[2] / Ns[0]);
      assert.ok(Math.abs(k - order) <= 0.25, `${tab.name}: errors ${errs.map((e) => e.toExponential(2))}, order ${k.toFixed(3)}`);
    }
  });

  it("a malformed tableau is refused before integrating", () => {
    assert.throws(() => checkTableau({ ...BOSH3, name: "bad", b: [0.5, 0.5, 0.5] }), /tableau bad: the weights b sum to 1.5, not 1/);
    assert.throws(() => checkTableau({ ...BOSH3, name: "bad", e: [1, 2] }), /tableau bad: e must have 4 weights/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { tableau: { name: "x" } as never }), /solveRk45: tableau = "object" is not allowed/);
  });
});
