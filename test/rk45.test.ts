/**
 * Adaptive RK45 against closed-form solutions and against scipy's solve_ivp (numbers produced by
 * tools/crosscheck/rk45_scipy.py with Debian's python3-scipy 1.10.1 — the version of the official vectors — and
 * scipy ≥ 1.12, whose initial-step rule we follow; stored in test/fixtures/rk45_scipy.json).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { nextAfter, solveRk45, solveRk45Async } from "../lib/ode/rk45";
import { ROOT } from "./helpers";

// The same problems as tools/crosscheck/rk45_scipy.py (by name).
const RATES = [0.5, 2.0, 5.0];
const OMEGA = 2.0;
const R = 1.5;
const CAP = 10.0;
type Problem = {
  f: (t: number, y: Float64Array) => Float64Array;
  exact: (t: number, t0: number, y0: number[]) => number[];
  t0: number;
  t1: number;
  y0: number[];
};
const decay: Problem["f"] = (_t, y) => Float64Array.from(y, (v, i) => -RATES[i] * v);
const decayExact: Problem["exact"] = (t, t0, y0) => y0.map((v, i) => v * Math.exp(-RATES[i] * (t - t0)));
const osc: Problem["f"] = (_t, y) => Float64Array.of(y[1], -OMEGA * OMEGA * y[0]);
const oscExact: Problem["exact"] = (t, t0, y0) => {
  const c = Math.cos(OMEGA * (t - t0));
  const s = Math.sin(OMEGA * (t - t0));
  return [y0[0] * c + (y0[1] / OMEGA) * s, -y0[0] * OMEGA * s + y0[1] * c];
};
const logistic: Problem["f"] = (_t, y) => Float64Array.of(R * y[0] * (1 - y[0] / CAP));
const logisticExact: Problem["exact"] = (t, t0, y0) => {
  const e = Math.exp(R * (t - t0));
  return [(CAP * y0[0] * e) / (CAP + y0[0] * (e - 1))];
};
const PROBLEMS: Record<string, Problem> = {
  decay: { f: decay, exact: decayExact, t0: 0, t1: 3, y0: [1, -2, 0.5] },
  oscillator: { f: osc, exact: oscExact, t0: 0, t1: 10, y0: [1, 0] },
  logistic: { f: logistic, exact: logisticExact, t0: 0, t1: 8, y0: [0.1] },
  logistic_backward: { f: logistic, exact: logisticExact, t0: 8, t1: 0, y0: [9] },
  oscillator_backward: { f: osc, exact: oscExact, t0: 5, t1: -1, y0: [0.3, -1.2] },
  decay_short: { f: decay, exact: decayExact, t0: 0, t1: 1e-3, y0: [1, -2, 0.5] },
};

interface Case {
  problem: string;
  rtol: number;
  atol: number | number[];
  nfev: number;
  n_accepted: number;
  n_rejected: number;
  y_final: number[];
  max_abs_error: number;
}
interface Run {
  scipy_version: string;
  cases: Case[];
}
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "rk45_scipy.json"), "utf8")) as { runs: Run[] };
const major = (v: string): number[] => v.split(".").map(Number);
const modern = fixture.runs.find((r) => major(r.scipy_version)[0] > 1 || major(r.scipy_version)[1] >= 12);
const legacy = fixture.runs.find((r) => major(r.scipy_version)[0] === 1 && major(r.scipy_version)[1] < 12);

function solve(c: Case) {
  const p = PROBLEMS[c.problem];
  return solveRk45(p.f, [p.t0, p.t1], p.y0, { rtol: c.rtol, atol: c.atol });
}

function maxAbsError(y: ArrayLike<number>, p: Problem): number {
  const e = p.exact(p.t1, p.t0, p.y0);
  return Math.max(...e.map((v, i) => Math.abs(y[i] - v)));
}

describe("solveRk45 vs scipy solve_ivp(RK45)", () => {
  it("fixture holds a modern (>= 1.12) and a legacy (1.10, as the official vectors) scipy run", () => {
    assert.ok(modern, "no scipy >= 1.12 run in rk45_scipy.json");
    assert.ok(legacy, "no scipy < 1.12 run in rk45_scipy.json");
    assert.ok(modern.cases.length >= 20);
  });

  it("nfev, accepted and rejected steps equal scipy >= 1.12's exactly; final states agree to 1e-12", () => {
    for (const c of modern!.cases) {
      const r = solve(c);
      const what = `${c.problem} rtol=${c.rtol} atol=${c.atol}`;
      assert.equal(r.nfev, c.nfev, `${what}: nfev`);
      assert.equal(r.nAccepted, c.n_accepted, `${what}: accepted`);
      assert.equal(r.nRejected, c.n_rejected, `${what}: rejected`);
      assert.equal(r.nfev, 2 + 6 * (r.nAccepted + r.nRejected), `${what}: FSAL count`);
      for (let i = 0; i < c.y_final.length; i++) {
        assert.ok(Math.abs(r.y[i] - c.y_final[i]) <= 1e-12 * (1 + Math.abs(c.y_final[i])), `${what}: y[${i}] ${r.y[i]} vs ${c.y_final[i]}`);
      }
    }
  });

  it("nfev within one step (6 evaluations) of scipy 1.10.1 (no initial-step clamp there)", () => {
    for (const c of legacy!.cases) {
      const r = solve(c);
      assert.ok(Math.abs(r.nfev - c.nfev) <= 6, `${c.problem} rtol=${c.rtol}: nfev ${r.nfev} vs scipy 1.10.1 ${c.nfev}`);
    }
  });
});

describe("solveRk45 accuracy on closed-form ODEs", () => {
  const tols: [number, number][] = [
    [1e-3, 1e-6],
    [1e-5, 1e-5],
    [1e-6, 1e-9],
    [1e-8, 1e-10],
  ];
  for (const name of ["decay", "oscillator", "logistic", "logistic_backward", "oscillator_backward"]) {
    it(`${name}: global error tracks the tolerance and shrinks as it tightens`, () => {
      const p = PROBLEMS[name];
      const errs = tols.map(([rtol, atol]) => maxAbsError(solveRk45(p.f, [p.t0, p.t1], p.y0, { rtol, atol }).y, p));
      const scaleY = Math.max(1, ...p.y0.map(Math.abs));
      tols.forEach(([rtol, atol], k) => {
        // Local control gives a global error of a small multiple of the tolerance over these intervals.
        assert.ok(errs[k] <= 20 * (rtol * scaleY + atol), `${name} rtol=${rtol}: error ${errs[k]}`);
      });
      // From rtol 1e-3 to 1e-8 the error must fall by at least three orders of magnitude.
      assert.ok(errs[3] < errs[0] * 1e-3, `${name}: errors ${errs.map((e) => e.toExponential(2))}`);
    });
  }

  it("per-component atol is honoured (matches scipy's nfev)", () => {
    const c = modern!.cases.find((x) => Array.isArray(x.atol))!;
    const r = solve(c);
    assert.equal(r.nfev, c.nfev);
    // The loosest component (atol 1e-3) ends near 0.5 e^{-15} ≈ 1.5e-7: it may be off by about its atol.
    const e = decayExact(3, 0, [1, -2, 0.5]);
    assert.ok(Math.abs(r.y[0] - e[0]) < 1e-7);
  });
});

describe("solveRk45 mechanics", () => {
  it("async driver gives the identical solution and count", async () => {
    const p = PROBLEMS.oscillator;
    const a = solveRk45(p.f, [p.t0, p.t1], p.y0, { rtol: 1e-6, atol: 1e-9 });
    const b = await solveRk45Async(async (t, y) => p.f(t, y), [p.t0, p.t1], p.y0, { rtol: 1e-6, atol: 1e-9 });
    assert.equal(b.nfev, a.nfev);
    assert.deepEqual(Array.from(b.y), Array.from(a.y));
  });

  it("onStep sees every accepted step, times move monotonically to t1, and stage times stay inside [t0, t1]", () => {
    const p = PROBLEMS.logistic_backward;
    const times: number[] = [];
    const seen: number[] = [];
    const f = (t: number, y: Float64Array) => {
      seen.push(t);
      return logistic(t, y);
    };
    const r = solveRk45(f, [p.t0, p.t1], p.y0, { rtol: 1e-6, atol: 1e-9, onStep: (s) => times.push(s.t) });
    assert.equal(times.length, r.nAccepted);
    assert.equal(times[times.length - 1], p.t1);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] < times[i - 1]);
    assert.equal(seen.length, r.nfev);
    for (const t of seen) assert.ok(t >= 0 && t <= 8, `stage time ${t}`);
  });

  it("maxStep bounds the step", () => {
    const p = PROBLEMS.decay;
    let last = p.t0;
    let maxH = 0;
    solveRk45(p.f, [p.t0, p.t1], p.y0, { maxStep: 0.05, onStep: (s) => ((maxH = Math.max(maxH, s.t - last)), (last = s.t)) });
    assert.ok(maxH <= 0.05 + 1e-15, `largest step ${maxH}`);
  });

  it("t0 = t1 returns y0 after the one initial evaluation, as scipy", () => {
    const r = solveRk45(decay, [1, 1], [1, 2, 3]);
    assert.deepEqual(Array.from(r.y), [1, 2, 3]);
    assert.equal(r.nfev, 1);
  });

  it("nextAfter matches the float64 neighbours", () => {
    assert.equal(nextAfter(1, 1), 1 + 2 ** -52);
    assert.equal(nextAfter(1, -1), 1 - 2 ** -53);
    assert.equal(nextAfter(-1, 1), -1 + 2 ** -53);
    assert.equal(nextAfter(0, -1), -Number.MIN_VALUE);
  });
});

describe("solveRk45 bad input and failures raise named errors (no hang, no NaN)", () => {
  it("rejects invalid tolerances, spans and states", () => {
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { rtol: 0 }), /rtol = 0 is not allowed/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { rtol: -1e-3 }), /rtol/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { atol: -1 }), /atol = -1/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { atol: [1e-6, 1e-6] }), /atol\.length/);
    assert.throws(() => solveRk45(decay, [0, NaN], [1, 1, 1]), /t1 = NaN/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, NaN, 1]), /y0\[1\] = NaN/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { maxSteps: 0 }), /maxSteps/);
    assert.throws(() => solveRk45(decay, [0, 1], [1, 1, 1], { firstStep: 2 }), /firstStep/);
  });

  it("a right-hand side of the wrong length or non-finite at t0 is reported", () => {
    assert.throws(() => solveRk45(() => new Float64Array(2), [0, 1], [1, 1, 1]), /returned 2 values at t = 0; expected 3/);
    assert.throws(() => solveRk45(() => Float64Array.of(NaN), [0, 1], [1]), /not finite at the initial point/);
  });

  it("a finite-time blow-up (y' = y², y(0) = 1, singular at t = 1) ends in a step-size error", () => {
    assert.throws(
      () => solveRk45((_t, y) => Float64Array.of(y[0] * y[0]), [0, 2], [1], { rtol: 1e-6, atol: 1e-9 }),
      /(below the spacing of floats|maxSteps)/,
    );
  });

  it("maxSteps stops a long solve with a message naming where it stopped", () => {
    const p = PROBLEMS.oscillator;
    assert.throws(() => solveRk45(p.f, [p.t0, p.t1], p.y0, { rtol: 1e-10, atol: 1e-12, maxSteps: 20 }), /maxSteps = 20 attempted steps reached at t = /);
  });
});
