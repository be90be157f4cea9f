/**
 * Measured convergence orders of the solvers on the analytic Gaussian target (./gaussian.ts), with no Monte-Carlo
 * noise: the error is the 2-Wasserstein distance between the law the solver produces from the exact p_T and the exact
 * p_eps, and the order is the fitted log-log slope against the number of steps K.
 *
 * Expected (Lu et al. 2022; Karras et al. 2022; Kloeden & Platen 1992): DDIM / DPM-Solver-1 order 1, DPM-Solver-2,
 * DPM-Solver++(2M) and Heun order 2, DPM-Solver-3 order 3 on the ODE; stochastic Heun weak order 2, DDIM with η = 1
 * weak order 1, EDM's churn sampler weak order 2 (the churn moves exactly along the marginals, so only its Heun
 * steps err). Each K range starts where the method is asymptotic and stays above float32 rounding (~1e-6 here).
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { SDE, SubVPSDE, VESDE, VPSDE } from "../../lib/sde";
import { getSolver, timeGrid } from "../../lib/solvers";
import type { GridKind } from "../../lib/solvers";
import { setup } from "../helpers";
import { flowLawError, gaussianScore, lawError, order } from "../../notebooks/experiments/gaussianTarget";

before(setup);

const SDES: SDE[] = [new VESDE(), new VPSDE(), new SubVPSDE()];

interface Case {
  solver: string;
  options?: Record<string, unknown>;
  grid: GridKind;
  Ks: number[];
  expected: number;
  /** Allowed |slope − expected| (0.25 unless a reason is given below). */
  tol?: number | ((sde: SDE) => [number, number]);
}

const CASES: Case[] = [
  { solver: "ddim", grid: "logsnr", Ks: [16, 32, 64], expected: 1 },
  { solver: "dpm_solver_1", grid: "logsnr", Ks: [16, 32, 64], expected: 1 },
  { solver: "dpm_solver_2", grid: "logsnr", Ks: [8, 16, 32], expected: 2 },
  { solver: "dpm_solver_pp_2m", grid: "logsnr", Ks: [16, 32, 64], expected: 2 },
  { solver: "dpm_solver_pp_2m", options: { prediction: "noise" }, grid: "logsnr", Ks: [16, 32, 64], expected: 2 },
  { solver: "heun", grid: "karras", Ks: [8, 16, 32], expected: 2 },
  // DPM-Solver-3 approaches order 3 from above: its h⁴ term is still large where the errors are measurable in
  // float32 (slopes 3.40 / 3.39 / 3.42 for VE / VP / sub-VP on K = 8–24). On K = 24–64 VP fits 3.15 and sub-VP
  // 3.28; for VE the h³ and h⁴ terms cancel near K = 64 (error 2.7e-7), so VE is measured on K = 8–24.
  {
    solver: "dpm_solver_3",
    grid: "logsnr",
    Ks: [24, 32, 48, 64],
    expected: 3,
    tol: (sde) => (sde.kind === "VP" ? [2.75, 3.25] : [2.75, 3.45]),
  },
  { solver: "stochastic_heun", grid: "uniform", Ks: [16, 32, 64, 128], expected: 2 },
  { solver: "ddim", options: { eta: 1 }, grid: "logsnr", Ks: [16, 32, 64, 128], expected: 1 },
  { solver: "edm_stochastic", grid: "karras", Ks: [16, 32, 64], expected: 2 },
];

describe("solver convergence orders on a Gaussian target (exact law propagation)", () => {
  for (const c of CASES) {
    for (const sde of SDES) {
      const label = `${sde.kind} ${c.solver}${c.options ? " " + JSON.stringify(c.options) : ""}: order ≈ ${c.expected}`;
      it(label, async (t) => {
        const Ks = c.solver === "dpm_solver_3" && sde.kind === "VE" ? [8, 12, 16, 24] : c.Ks;
        const entry = getSolver(c.solver);
        const errs: number[] = [];
        for (const K of Ks) {
          const grid = timeGrid(c.grid, sde, K);
          const options = c.options ?? {};
          errs.push(
            entry.stochastic || c.options?.eta
              ? await lawError(sde, entry.create({ sde, score: gaussianScore(sde), grid, options }), grid)
              : await flowLawError(sde, (score) => entry.create({ sde, score, grid, options }), grid),
          );
        }
        const k = order(Ks, errs);
        const msg = `W2 errors ${errs.map((e) => e.toExponential(2)).join(", ")} for K = ${Ks.join(", ")}; fitted order ${k.toFixed(3)}`;
        t.diagnostic(msg);
        for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], msg);
        const [lo, hi] = typeof c.tol === "function" ? c.tol(sde) : [c.expected - (c.tol ?? 0.25), c.expected + (c.tol ?? 0.25)];
        assert.ok(k >= lo && k <= hi, `order not in [${lo}, ${hi}]: ${msg}`);
      });
    }
  }
});
