/**
 * The fast-gradient primitives and layers: each gradient is checked (1) against central finite differences along
 * random directions and (2) against tfjs' stock gradient of the plain formulation on the cpu backend (which has
 * every gradient kernel), with our version running on the default backend (wasm here).
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lib/random";
import {
  Attention,
  ParamStore,
  avgPool2,
  bmm,
  conv2dSame,
  groupNorm,
  linear,
  silu,
  upsampleNearest2,
  FourierEmbedding,
  PositionalEmbedding,
} from "../lib/models";
import { assertClose, assertNoLeak, setup } from "./helpers";

let main = "";
before(async () => {
  await setup();
  main = tf.getBackend();
});

type F = (...xs: tf.Tensor[]) => tf.Tensor;

/** Seeded float32 test inputs (values in a moderate range). */
function inputs(shapes: number[][], seed: number): tf.Tensor[] {
  const rng = createRng(seed);
  return shapes.map((s) => rng.normal(s));
}

/** Scalar loss Σ f(xs)·R with a fixed random R, so every output element matters with a different weight. */
function lossOf(f: F, xs: tf.Tensor[], seed: number): tf.Scalar {
  const y = f(...xs);
  const r = createRng(seed + 1000).normal(y.shape);
  return y.mul(r).sum() as tf.Scalar;
}

function gradsOf(f: F, xs: tf.Tensor[], seed: number): Float32Array[] {
  return tf.tidy(() => tf.grads((...a: tf.Tensor[]) => lossOf(f, a, seed))(xs).map((g) => g.dataSync() as Float32Array));
}

/** Checks ⟨∇L, v⟩ against (L(x + hv) − L(x − hv))/2h for a random direction v, for each input in turn. */
function checkFiniteDifferences(f: F, xs: tf.Tensor[], seed: number, { h = 1e-2, rtol = 2e-2, skip = [] as number[] } = {}): void {
  const g = gradsOf(f, xs, seed);
  xs.forEach((x, i) => {
    if (skip.includes(i)) return;
    tf.tidy(() => {
      const v = createRng(seed + 7 + i).normal(x.shape);
      const at = (s: number) => lossOf(f, xs.map((xx, j) => (j === i ? xx.add(v.mul(s)) : xx)), seed).dataSync()[0];
      const fd = (at(h) - at(-h)) / (2 * h);
      const vd = v.dataSync();
      let an = 0;
      for (let k = 0; k < vd.length; k++) an += g[i][k] * vd[k];
      const scale = Math.sqrt(g[i].reduce((s, gi) => s + gi * gi, 0) * vd.length);
      // Float32 rounding in the two loss evaluations, divided by 2h: ~ε₃₂ Σ|y·R| / h (matters where ∇ ≈ 0).
      const y = f(...xs);
      const noise = (10 * 1.2e-7 * y.mul(createRng(seed + 1000).normal(y.shape)).abs().sum().dataSync()[0]) / h;
      const tol = rtol * scale + noise;
      assert.ok(Math.abs(an - fd) <= tol, `input ${i}: analytic ${an} vs finite difference ${fd} (tol ${tol})`);
    });
  });
}

/** Our gradient on the main backend equals the stock gradient of `ref` on the cpu backend. */
async function checkCpuParity(ours: F, ref: F, xs: tf.Tensor[], seed: number, tol = { rtol: 1e-4, atol: 1e-4 }): Promise<void> {
  const gOurs = gradsOf(ours, xs, seed);
  const yOurs = tf.tidy(() => ours(...xs).dataSync() as Float32Array);
  await tf.setBackend("cpu");
  let gRef: Float32Array[];
  let yRef: Float32Array;
  try {
    gRef = gradsOf(ref, xs, seed);
    yRef = tf.tidy(() => ref(...xs).dataSync() as Float32Array);
  } finally {
    await tf.setBackend(main);
  }
  assertClose(yOurs, Array.from(yRef), { ...tol, what: "forward" });
  gOurs.forEach((g, i) => {
    const maxRef = gRef[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(g, Array.from(gRef[i]), { rtol: tol.rtol, atol: tol.atol * Math.max(1, maxRef), what: `grad ${i}` });
  });
}

describe("linear (dense) with transpose + plain matMul gradients", () => {
  const f: F = (x, w, b) => linear(x, w, b);
  const ref: F = (x, w, b) => tf.matMul(x, w).add(b);
  it("matches finite differences", () => checkFiniteDifferences(f, inputs([[5, 4], [4, 3], [3]], 1), 1));
  it("matches stock gradients on cpu", () => checkCpuParity(f, ref, inputs([[7, 6], [6, 5], [5]], 2), 2));
  it("works without bias and on [B, H, W, C] inputs (a 1×1 conv)", async () => {
    const g: F = (x, w) => linear(x, w);
    const gref: F = (x, w) => tf.matMul(x.reshape([-1, 3]), w).reshape([2, 4, 4, 2]);
    await checkCpuParity(g, gref, inputs([[2, 4, 4, 3], [3, 2]], 3), 3);
    checkFiniteDifferences(g, inputs([[2, 2, 2, 3], [3, 2]], 4), 4);
  });
  it("rejects mismatched shapes", () => {
    assert.throws(() => linear(tf.zeros([2, 3]), tf.zeros([4, 2])), /linear: x.shape = \[2, 3\]/);
  });
});

describe("conv2dSame with forward-conv gradients", () => {
  const f: F = (x, w, b) => conv2dSame(x, w, b);
  const ref: F = (x, w, b) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same").add(b);
  for (const k of [1, 3, 5]) {
    it(`k = ${k}: matches stock gradients on cpu (non-square image, Cin ≠ Cout)`, () =>
      checkCpuParity(f, ref, inputs([[3, 7, 6, 3], [k, k, 3, 4], [4]], 10 + k), 10 + k));
  }
  it("matches finite differences (with and without bias)", () => {
    checkFiniteDifferences(f, inputs([[2, 5, 4, 2], [3, 3, 2, 3], [3]], 20), 20);
    checkFiniteDifferences((x, w) => conv2dSame(x, w), inputs([[2, 4, 5, 2], [3, 3, 2, 2]], 21), 21);
  });
  it("rejects even kernels and channel mismatches", () => {
    assert.throws(() => conv2dSame(tf.zeros([1, 4, 4, 2]), tf.zeros([2, 2, 2, 2])), /filter.shape = \[2, 2, 2, 2\]/);
    assert.throws(() => conv2dSame(tf.zeros([1, 4, 4, 3]), tf.zeros([3, 3, 2, 2])), /x.shape = \[1, 4, 4, 3\]/);
  });
});

describe("other primitives", () => {
  it("bmm matches stock batched matMul gradients on cpu and finite differences", async () => {
    await checkCpuParity((a, b) => bmm(a, b), (a, b) => tf.matMul(a, b), inputs([[3, 4, 5], [3, 5, 2]], 30), 30);
    checkFiniteDifferences((a, b) => bmm(a, b), inputs([[2, 3, 4], [2, 4, 3]], 31), 31);
  });
  it("silu matches x·sigmoid(x) and its stock gradient", async () => {
    await checkCpuParity((x) => silu(x), (x) => x.mul(tf.sigmoid(x)), inputs([[4, 9]], 32), 32);
    checkFiniteDifferences((x) => silu(x), inputs([[3, 5]], 33), 33);
  });
  it("groupNorm matches a direct computation and stock gradients on cpu", async () => {
    const f: F = (x, g, b) => groupNorm(x, g, b, 2);
    const ref: F = (x, g, b) => {
      // Per example and group of 3 channels: normalise over (H, W, channels of the group).
      const parts = tf.split(x, 2, 3).map((p) => {
        const m = p.mean([1, 2, 3], true);
        const v = p.sub(m).square().mean([1, 2, 3], true);
        return p.sub(m).div(v.add(1e-6).sqrt());
      });
      return tf.concat(parts, 3).mul(g).add(b);
    };
    await checkCpuParity(f, ref, inputs([[2, 3, 4, 6], [6], [6]], 34), 34, { rtol: 1e-3, atol: 1e-4 });
    checkFiniteDifferences(f, inputs([[2, 3, 3, 4], [4], [4]], 35), 35);
    const y = tf.tidy(() => groupNorm(createRng(36).normal([2, 4, 4, 4]).mul(5).add(3), tf.ones([4]), tf.zeros([4]), 2));
    const [mean, variance] = tf.tidy(() => {
      const m = tf.moments(y.reshape([2, 16, 2, 2]), [1, 3]);
      return [m.mean.dataSync(), m.variance.dataSync()];
    });
    assertClose(mean, new Array(4).fill(0), { atol: 1e-5, what: "group mean" });
    assertClose(variance, new Array(4).fill(1), { rtol: 1e-4, what: "group variance" });
    y.dispose();
  });
  it("avgPool2 and upsampleNearest2 are exact and differentiable", async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
    assertClose(avgPool2(x), [3.5, 5.5, 11.5, 13.5], { what: "avgPool2" });
    const u = upsampleNearest2(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]));
    assertClose(u, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], { what: "upsample" });
    // Stock reference: tile (rank 4: tfjs has no rank-6 tile gradient).
    const refUp: F = (z) => {
      const [b, h, w, c] = z.shape;
      const cols = tf.tile(z.reshape([b * h, w, 1, c]), [1, 1, 2, 1]).reshape([b, h, 2 * w, c]);
      return tf.tile(cols.reshape([b, h, 1, 2 * w * c]), [1, 1, 2, 1]).reshape([b, 2 * h, 2 * w, c]);
    };
    await checkCpuParity((z) => upsampleNearest2(z), refUp, inputs([[2, 3, 5, 2]], 37), 37);
    await checkCpuParity((z) => avgPool2(z), (z) => tf.avgPool(z as tf.Tensor4D, 2, 2, "valid"), inputs([[2, 4, 6, 3]], 38), 38);
    checkFiniteDifferences((z) => upsampleNearest2(z), inputs([[1, 3, 3, 2]], 39), 39);
    checkFiniteDifferences((z) => avgPool2(z), inputs([[1, 4, 4, 2]], 40), 40);
    tf.dispose([x, u]);
  });
});

describe("layers", () => {
  it("attention: gradients of input and all variables match cpu stock gradients and finite differences", async () => {
    const store = new ParamStore(createRng(5), "test");
    const attn = new Attention(store, "attn", 8, 2);
    // The output projection is zero-initialised (as the official AttnBlockpp); give it values so the check bites.
    tf.tidy(() => store.variables.forEach((v, i) => v.assign(createRng(50 + i).normal(v.shape).mul(0.5))));
    const vars = store.variables;
    const x = inputs([[2, 3, 3, 8]], 41)[0];
    // Gradients w.r.t. x and every variable: the block written functionally over (x, ...variable values), which
    // is checked below to equal the layer itself.
    const withVals: F = (xx, ...vals) => attentionRef(xx, vals, linear, bmm);
    const stock: F = (xx, ...vals) =>
      attentionRef(
        xx,
        vals,
        (a, w, b) => {
          const [i, o] = w.shape as [number, number];
          return tf.matMul(a.reshape([-1, i]), w).add(b as tf.Tensor).reshape([...a.shape.slice(0, -1), o]);
        },
        (a, b) => tf.matMul(a, b),
      );
    const xs = [x, ...vars.map((v) => v.clone())];
    // The layer itself equals the functional form.
    assertClose(tf.tidy(() => attn.apply(x)), Array.from(tf.tidy(() => withVals(...xs).dataSync())), { what: "layer vs functional" });
    await checkCpuParity(withVals, stock, xs, 42, { rtol: 1e-3, atol: 1e-4 });
    checkFiniteDifferences(withVals, xs, 43);
    tf.dispose(xs);
    store.dispose();
  });

  it("embeddings: Fourier is [sin(2π log σ W), cos(…)] with fixed seeded W; positional is the DDPM formula", () => {
    const store = new ParamStore(createRng(3), "emb");
    const fe = new FourierEmbedding(store, "f", 6, 16);
    const W = Array.from(createRng(3).normal([1, 3]).mul(16).dataSync());
    const sig = [0.01, 1, 50];
    const e = tf.tidy(() => fe.apply(tf.tensor1d(sig)).dataSync());
    const expF = sig.flatMap((s) => [...W.map((w) => Math.sin(2 * Math.PI * Math.log(s) * w)), ...W.map((w) => Math.cos(2 * Math.PI * Math.log(s) * w))]);
    assertClose(e, expF, { atol: 2e-4, what: "fourier" });
    assert.equal(store.variables.length, 0, "W is not trainable");
    assert.deepEqual(store.fixedNames, ["f/W"]);
    const pe = new PositionalEmbedding(store, 8);
    const ts = [0, 1, 250.5, 999];
    const p = tf.tidy(() => pe.apply(tf.tensor1d(ts)).dataSync());
    const freqs = [0, 1, 2, 3].map((k) => Math.exp((-k * Math.log(10000)) / 3));
    const expP = ts.flatMap((t) => [...freqs.map((f) => Math.sin(t * f)), ...freqs.map((f) => Math.cos(t * f))]);
    assertClose(p, expP, { atol: 2e-4, what: "positional" });
    // Repeated labels (one row computed and shared on the kernel path) and odd widths (zero-padded). The kernel
    // path and the tfjs-ops fallback are compared with each other in test/perf/native.test.ts.
    const pe7 = new PositionalEmbedding(store, 7);
    const many = [0.02, 0.02, 0.02, 3, 49.5, 49.5];
    const manyLabels = tf.tensor1d(many);
    const lab7 = tf.tensor1d(ts);
    const host = tf.tidy(() => [fe.apply(manyLabels).dataSync(), pe7.apply(lab7).dataSync()]);
    const expMany = many.flatMap((s) => [...W.map((w) => Math.sin(2 * Math.PI * Math.log(s) * w)), ...W.map((w) => Math.cos(2 * Math.PI * Math.log(s) * w))]);
    assertClose(host[0], expMany, { atol: 2e-4, what: "fourier, repeated labels" });
    const freqs3 = [0, 1, 2].map((k) => Math.exp((-k * Math.log(10000)) / 2));
    const exp7 = ts.flatMap((t) => [...freqs3.map((f) => Math.sin(t * f)), ...freqs3.map((f) => Math.cos(t * f)), 0]);
    assertClose(host[1], exp7, { atol: 2e-4, what: "positional, odd width" });
    const row = Array.from(host[1].slice(0, 7));
    assert.equal(row[6], 0, "odd width: last column is zero padding");
    assertClose(row.slice(0, 6), [0, 0, 0, 1, 1, 1], { atol: 1e-6, what: "label 0" });
    tf.dispose([manyLabels, lab7]);
    store.dispose();
  });

  it("no tensors leak over repeated forward/backward of the primitives", async () => {
    const xs = inputs([[2, 4, 4, 3], [3, 3, 3, 4], [4]], 60);
    const step = () => gradsOf((x, w, b) => upsampleNearest2(avgPool2(silu(groupNorm(conv2dSame(x, w, b), tf.ones([4]), tf.zeros([4]), 2)))), xs, 60);
    step();
    await assertNoLeak(() => {
      for (let i = 0; i < 3; i++) step();
    }, "primitives");
    tf.dispose(xs);
  });
});

/** The attention block written functionally over (x, norm γ, norm β, q W, q b, k W, k b, v W, v b, out W, out b). */
function attentionRef(
  x: tf.Tensor,
  v: tf.Tensor[],
  lin: (a: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => tf.Tensor,
  mm: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const [b, hh, ww, c] = x.shape;
  const h = groupNorm(x, v[0], v[1], 2).reshape([b, hh * ww, c]);
  const q = lin(h, v[2], v[3]);
  const k = lin(h, v[4], v[5]);
  const vv = lin(h, v[6], v[7]);
  const w = tf.softmax(mm(q, tf.transpose(k, [0, 2, 1])).mul(1 / Math.sqrt(c)));
  const o = lin(mm(w, vv), v[8], v[9]).reshape([b, hh, ww, c]);
  return x.add(o).mul(Math.SQRT1_2);
}
