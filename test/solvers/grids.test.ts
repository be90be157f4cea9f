/** Time grids: exact closed forms, end points, monotonicity and clear errors. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { SubVPSDE, VESDE, VPSDE, linspace } from "../../lib/sde";
import { GRID_KINDS, checkGrid, karrasGrid, logSnrGrid, quadraticGrid, timeGrid, uniformGrid } from "../../lib/solvers";
import { setup } from "../helpers";

before(setup);

describe("time grids", () => {
  it("uniform is linspace(T, eps, K + 1), the official spacing", () => {
    const sde = new VPSDE();
    assert.deepEqual(Array.from(uniformGrid(sde, 10)), Array.from(linspace(1, 1e-3, 11)));
  });

  it("logsnr is uniform in λ, karras is EDM's σ grid (ρ = 7), quadratic is DDIM's", () => {
    for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE()]) {
      const K = 12;
      const g = logSnrGrid(sde, K);
      const l0 = sde.lambdaAt(1);
      const l1 = sde.lambdaAt(sde.defaultEps);
      g.forEach((t, i) => assert.ok(Math.abs(sde.lambdaAt(t) - (l0 + ((l1 - l0) * i) / K)) < 1e-9, `${sde.kind} logsnr λ(t_${i})`));
      const k = karrasGrid(sde, K);
      const [a, b] = [Math.exp(-l0 / 7), Math.exp(-l1 / 7)];
      k.forEach((t, i) => {
        const sigma = sde.stdAt(t) / sde.alphaAt(t);
        const want = (a + ((b - a) * i) / K) ** 7;
        assert.ok(Math.abs(sigma - want) <= 1e-9 * want, `${sde.kind} karras σ̂(t_${i}) = ${sigma} vs ${want}`);
      });
      const q = quadraticGrid(sde, K);
      q.forEach((t, i) => assert.ok(Math.abs(t - (sde.defaultEps + (1 - sde.defaultEps) * (1 - i / K) ** 2)) < 1e-15));
    }
    // For VE, σ̂ is σ itself: the first Karras step from σ_max = 50 with ρ = 7, K = 2, eps 1e-5.
    const ve = new VESDE();
    const k = karrasGrid(ve, 2);
    const mid = ((50 ** (1 / 7) + ve.stdAt(1e-5) ** (1 / 7)) / 2) ** 7;
    assert.ok(Math.abs(ve.stdAt(k[1]) - mid) < 1e-9 * mid);
  });

  it("every kind starts at exactly T, ends at exactly eps and decreases strictly", () => {
    for (const sde of [new VESDE(), new VPSDE(), new SubVPSDE()]) {
      for (const kind of GRID_KINDS) {
        for (const K of [1, 2, 7, 100]) {
          const g = timeGrid(kind, sde, K, { eps: 2e-3 });
          assert.equal(g.length, K + 1);
          assert.equal(g[0], 1);
          assert.equal(g[K], 2e-3);
          for (let i = 1; i <= K; i++) assert.ok(g[i] < g[i - 1], `${sde.kind} ${kind} K=${K} not decreasing at ${i}`);
        }
      }
    }
  });

  it("bad arguments fail naming the parameter, the value and what is allowed", () => {
    const sde = new VPSDE();
    assert.throws(() => uniformGrid(sde, 0), /uniformGrid: steps = 0 is not allowed; steps must be an integer ≥ 1/);
    assert.throws(() => logSnrGrid(sde, 2.5), /steps = 2.5/);
    assert.throws(() => karrasGrid(sde, 5, { eps: 0 }), /karrasGrid: eps = 0 is not allowed; eps must be a number in \(0, T\)/);
    assert.throws(() => karrasGrid(sde, 5, { rho: -1 }), /rho = -1/);
    assert.throws(() => timeGrid("cosine" as never, sde, 5), /timeGrid: kind = "cosine" is not allowed; kind must be one of "uniform", "logsnr", "karras", "quadratic"/);
    assert.throws(() => checkGrid("x", [0.5, 0.7], 1), /x: grid\[1\] = 0.7 is not allowed; grid\[1\] must be < grid\[0\] = 0.5: a grid runs from T down to eps \(strictly decreasing\)/);
    assert.throws(() => checkGrid("x", [1.5, 0.1], 1), /grid\[0\] = 1.5 is not allowed; grid\[0\] must be a time in \(0, T\] = \(0, 1\]/);
    assert.throws(() => checkGrid("x", [1, 0], 1), /grid\[1\] = 0 is not allowed/);
    assert.doesNotThrow(() => checkGrid("x", [1, 0], 1, { endMayBeZero: true }));
    assert.throws(() => checkGrid("x", [1], 1), /grid.length = 1 is not allowed; grid.length must be ≥ 2/);
    assert.throws(() => checkGrid("x", [1, NaN], 1), /grid\[1\] = NaN/);
    assert.throws(() => checkGrid("x", "1,0.5", 1), /grid = "string"/);
  });
});
