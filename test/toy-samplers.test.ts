/** Sample-only 2-D toys: seeding, documented ranges, and each shape's geometry checked on noise-free samples. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import { TOY_NAMES, checkerboard, concentricRings, pinwheel, swissRoll, toyDistribution, twoMoons } from "../lib/toy";
import { setup } from "./helpers";

before(setup);

/** Host copy of an [n, 2] tensor as points, disposing the tensor. */
function points(x: tf.Tensor2D): [number, number][] {
  const v = x.dataSync();
  x.dispose();
  return Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i], v[2 * i + 1]]);
}

describe("every toy", () => {
  for (const name of TOY_NAMES) {
    it(`${name}: [n, 2] float32, seeded, finite, within [−4.5, 4.5]² for 99.9 %`, () => {
      const toy = toyDistribution(name);
      assert.equal(toy.dim, 2);
      const a = toy.sample(2000, createRng(1));
      assert.deepEqual(a.shape, [2000, 2]);
      assert.equal(a.dtype, "float32");
      const b = toy.sample(2000, createRng(1));
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), "same seed, same points");
      b.dispose();
      const p = points(a);
      assert.ok(p.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
      const outside = p.filter(([x, y]) => Math.abs(x) > 4.5 || Math.abs(y) > 4.5).length;
      assert.ok(outside <= 2, `${outside} of 2000 points outside [−4.5, 4.5]²`);
    });
  }
  it("an unknown name is refused with the list of names", () => {
    assert.throws(() => toyDistribution("spiral" as never), /name = "spiral".*"twoMoons"/);
  });
});

describe("toy geometry (noise-free)", () => {
  it("twoMoons: points on the two unit half circles, half each", () => {
    const p = points(twoMoons({ noise: 0, scale: 1 }).sample(4000, createRng(2)));
    let upper = 0;
    for (const [x, y] of p) {
      // Undo the centring; the upper moon is the unit circle at (0,0) with y ≥ 0, the lower at (1, 0.5) with y ≤ 0.5.
      const ux = x + 0.5;
      const uy = y + 0.25;
      const dUpper = Math.abs(Math.hypot(ux, uy) - 1);
      const dLower = Math.abs(Math.hypot(ux - 1, uy - 0.5) - 1);
      assert.ok(Math.min(dUpper, dLower) < 1e-6, `(${x}, ${y}) on neither moon`);
      if (dUpper < 1e-6 && uy >= -1e-6) upper++;
    }
    // Binomial(4000, ½): 4.5 standard errors.
    assert.ok(Math.abs(upper / 4000 - 0.5) < 4.5 * Math.sqrt(0.25 / 4000), `upper fraction ${upper / 4000}`);
  });

  it("swissRoll: radius = scale·τ with the polar angle ≡ τ (mod 2π), τ ∈ [1.5π, 4.5π]", () => {
    const scale = 0.2;
    const p = points(swissRoll({ noise: 0, scale }).sample(2000, createRng(3)));
    for (const [x, y] of p) {
      const tau = Math.hypot(x, y) / scale;
      assert.ok(tau >= 1.5 * Math.PI - 1e-4 && tau <= 4.5 * Math.PI + 1e-4, `τ = ${tau}`);
      const dAngle = Math.atan2(y, x) - tau;
      const wrapped = dAngle - 2 * Math.PI * Math.round(dAngle / (2 * Math.PI));
      assert.ok(Math.abs(wrapped) < 1e-5, `angle mismatch ${wrapped}`);
    }
  });

  it("checkerboard: only black squares, each with frequency 1/8, exact density integrates to 1", () => {
    const cb = checkerboard();
    const n = 16000;
    const p = points(cb.sample(n, createRng(4)));
    const counts = new Map<string, number>();
    for (const [x, y] of p) {
      assert.ok(cb.density(x, y) > 0, `(${x}, ${y}) on a white square`);
      const key = `${Math.floor((x + 4) / 2)},${Math.floor((y + 4) / 2)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.size, 8);
    for (const [k, c] of counts) assert.ok(Math.abs(c / n - 1 / 8) < 4.5 * Math.sqrt((1 / 8) * (7 / 8) / n), `square ${k}: ${c / n}`);
    // Midpoint rule on a grid aligned with the squares is exact for a piecewise-constant density.
    let mass = 0;
    const h = 0.05;
    for (let x = -4 + h / 2; x < 4; x += h) for (let y = -4 + h / 2; y < 4; y += h) mass += cb.density(x, y) * h * h;
    assert.ok(Math.abs(mass - 1) < 1e-9, `∫ density = ${mass}`);
  });

  it("rings: radii exactly the given ones, frequencies proportional to radius", () => {
    const n = 12000;
    const p = points(concentricRings({ noise: 0 }).sample(n, createRng(5)));
    const counts = [0, 0, 0];
    for (const [x, y] of p) {
      const r = Math.hypot(x, y);
      const k = Math.round(r) - 1;
      assert.ok(Math.abs(r - (k + 1)) < 1e-5, `radius ${r}`);
      counts[k]++;
    }
    counts.forEach((c, k) => {
      const q = (k + 1) / 6;
      assert.ok(Math.abs(c / n - q) < 4.5 * Math.sqrt((q * (1 - q)) / n), `ring ${k + 1}: ${c / n} vs ${q}`);
    });
  });

  it("pinwheel: with zero stds every point is at radius scale with angle 2πa/arms + rate·e", () => {
    const pw = pinwheel({ radialStd: 0, tangentialStd: 0 });
    const p = points(pw.sample(500, createRng(6)));
    const arms = new Set<number>();
    for (const [x, y] of p) {
      assert.ok(Math.abs(Math.hypot(x, y) - 2) < 1e-5);
      const a = (Math.atan2(y, x) - 0.25 * Math.E) / ((2 * Math.PI) / 5);
      const wrapped = ((Math.round(a) % 5) + 5) % 5;
      assert.ok(Math.abs(a - Math.round(a)) < 1e-5, `angle off an arm: ${a}`);
      arms.add(wrapped);
    }
    assert.equal(arms.size, 5);
  });
});

describe("toy option validation names the parameter and the value", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["moons noise", () => twoMoons({ noise: -1 }), /noise = -1/],
    ["roll scale", () => swissRoll({ scale: 0 }), /scale = 0/],
    ["odd checkerboard", () => checkerboard({ squares: 3 }), /squares = 3 .*even/],
    ["ring radius", () => concentricRings({ radii: [1, -2] }), /radii\[1\] = -2/],
    ["pinwheel arms", () => pinwheel({ arms: 0 }), /arms = 0/],
    ["sample n", () => twoMoons().sample(-3, createRng(1)), /n = -3/],
  ];
  for (const [what, fn, re] of cases) it(what, () => assert.throws(fn, re));
});
