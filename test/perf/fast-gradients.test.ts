/** lib/perf/fastGradients: the same gradients as tfjs' stock ones, from other kernels. */
import { describe, it, before, after } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setup } from "../helpers";
import { fastGradientsInstalled, installFastGradients, uninstallFastGradients } from "../../lib/perf/fastGradients";
import { linear } from "../../lib/models/ops";
import { installNativeKernels, nativeKernelsInstalled, uninstallNativeKernels } from "../../lib/perf/native";

function grads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => tf.grads((...a: tf.Tensor[]) => f(...a).square().sum())(xs)).map((g) => {
    const v = g.dataSync() as Float32Array;
    g.dispose();
    return v;
  });
}

function close(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    assert.equal(x.length, b[i].length, `${what}: gradient ${i} size`);
    for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j] - b[i][j]) <= 1e-4 * (1 + Math.abs(b[i][j])), `${what}: grad ${i}[${j}] ${x[j]} vs ${b[i][j]}`);
  });
}

describe("fast gradients", () => {
  // initBackend (called by setup) installs the fast gradients: take them out so "stock" below is tfjs' own, and put
  // them back for whatever runs after.
  before(async () => {
    await setup();
    assert.ok(fastGradientsInstalled(), "initBackend installs the fast gradients");
    uninstallFastGradients();
  });
  after(installFastGradients);

  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  const cases: [string, (...xs: tf.Tensor[]) => tf.Tensor, tf.Tensor[]][] = [
    ["matMul", (a, b) => tf.matMul(a, b), [r([7, 5], 1), r([5, 3], 2)]],
    ["matMul tB", (a, b) => tf.matMul(a, b, false, true), [r([7, 5], 3), r([3, 5], 4)]],
    ["matMul tA", (a, b) => tf.matMul(a, b, true, false), [r([5, 7], 5), r([5, 3], 6)]],
    ["matMul tA tB", (a, b) => tf.matMul(a, b, true, true), [r([5, 7], 7), r([3, 5], 8)]],
    ["batched matMul tB", (a, b) => tf.matMul(a, b, false, true), [r([2, 7, 5], 9), r([2, 3, 5], 10)]],
    ["bias add [N,C]+[C]", (a, b) => a.add(b), [r([9, 4], 11), r([4], 12)]],
    ["bias add [B,H,W,C]+[C]", (a, b) => a.add(b), [r([2, 3, 3, 4], 13), r([4], 14)]],
    ["add [C]+[N,C] (bias first)", (a, b) => a.add(b), [r([4], 15), r([9, 4], 16)]],
    ["non-leading broadcast [B,H,W,C]+[B,1,1,C]", (a, b) => a.add(b), [r([2, 3, 3, 4], 17), r([2, 1, 1, 4], 18)]],
    ["scalar add", (a, b) => a.add(b), [r([3, 4], 19), r([], 20)]],
    ["sub [N,C]−[1,C]", (a, b) => a.sub(b), [r([9, 4], 21), r([1, 4], 22)]],
    ["same-shape sub", (a, b) => a.sub(b), [r([9, 4], 23), r([9, 4], 24)]],
  ];

  it("every case matches the stock gradient", () => {
    const stock = cases.map(([, f, xs]) => grads(f, xs));
    installFastGradients();
    assert.ok(fastGradientsInstalled());
    installFastGradients(); // idempotent
    cases.forEach(([name, f, xs], i) => close(grads(f, xs), stock[i], name));
    uninstallFastGradients();
    assert.ok(!fastGradientsInstalled());
    cases.forEach(([name, f, xs], i) => close(grads(f, xs), stock[i], `${name} (after uninstall)`));
  });

  it("a gradient with respect to x alone does not compute the weight gradient (lazy)", async () => {
    installFastGradients();
    const x = r([64, 16], 30);
    const w = r([16, 16], 31);
    const prof = await tf.profile(() => {
      const g = tf.grad((xx: tf.Tensor) => tf.matMul(xx, w).square().sum())(x);
      g.dispose();
    });
    // Forward product, and the one product of dx; the product for dW (xᵀ·dy, [16,64]·[64,16]) is never run.
    const products = prof.kernels.filter((k) => k.name === "BatchMatMul");
    assert.equal(products.length, 2, JSON.stringify(products.map((k) => k.inputShapes)));
    uninstallFastGradients();
  });

  it("lib/models/ops.linear without the dense kernel: the same values and gradients on the fast path as with its customGrad, lazy in x", async (t) => {
    // The paths linear takes where the backend has no dense kernel (wasm without the native addon, cpu, webgl);
    // the dense kernel itself is tested in test/perf/native.test.ts.
    if (nativeKernelsInstalled()) {
      uninstallNativeKernels();
      t.after(() => void installNativeKernels(1));
    }
    const x = r([3, 6, 5], 40);
    const w = r([5, 4], 41);
    const b = r([4], 42);
    const withBias = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => linear(xx, ww, bb);
    const noBias = (xx: tf.Tensor, ww: tf.Tensor) => linear(xx, ww);
    const ref = [grads(withBias, [x, w, b]), grads(noBias, [x, w])];
    const refY = linear(x, w, b).dataSync() as Float32Array;
    installFastGradients();
    close(grads(withBias, [x, w, b]), ref[0], "linear with bias");
    close(grads(noBias, [x, w]), ref[1], "linear without bias");
    close([linear(x, w, b).dataSync() as Float32Array], [refY], "linear forward (fused)");
    const prof = await tf.profile(() => {
      const g = tf.grad((xx: tf.Tensor) => linear(xx, w, b).square().sum())(x);
      g.dispose();
    });
    const products = prof.kernels.filter((k) => k.name === "BatchMatMul" || k.name === "_FusedMatMul");
    assert.equal(products.length, 2, JSON.stringify(products.map((k) => [k.name, k.inputShapes])));
    uninstallFastGradients();
  });
});
