/**
 * lib/perf/native: the oneDNN and fused kernels compute what the kernels they replace compute. References are plain
 * float64 loops written here (independent of tfjs and of the addon), plus the library's non-native code paths.
 * Skipped, with the reason, where the addon is not built (tools/build-native.js; tools/setup.sh builds it).
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { setup } from "../helpers";
import {
  installNativeKernels,
  nativeKernelsInfo,
  nativeKernelsInstalled,
  nativeKernelsUnavailableReason,
  uninstallNativeKernels,
} from "../../lib/perf/native";
import { KERNELS } from "../../lib/perf/kernels";
import { conv2dSame, groupNorm, groupNormSilu, linear, silu } from "../../lib/models/ops";

const groupNormPlain = groupNorm;
import { createUNet, FourierEmbedding, PositionalEmbedding, ParamStore } from "../../lib/models";
import { Adam, EMA } from "../../lib/train/optim";
import { createRng } from "../../lib/random";

const rng = createRng(2024);
const normal = (shape: number[]) => rng.normal(shape);

function near(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]} (|Δ| ${err})`);
  }
}

/** op(a)·op(b) for a batch of matrices in float64; batch 1 broadcasts. */
function refMatMul(a: Float32Array, sa: number[], b: Float32Array, sb: number[], ta: boolean, tb: boolean): number[] {
  const [ra, rb] = [sa.length, sb.length];
  const m = ta ? sa[ra - 1] : sa[ra - 2];
  const k = ta ? sa[ra - 2] : sa[ra - 1];
  const n = tb ? sb[rb - 2] : sb[rb - 1];
  const ba = a.length / (m * k);
  const bb = b.length / (k * n);
  const out: number[] = [];
  for (let i = 0; i < Math.max(ba, bb); i++) {
    const ao = (ba === 1 ? 0 : i) * m * k;
    const bo = (bb === 1 ? 0 : i) * k * n;
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += a[ao + (ta ? j * m + r : r * k + j)] * b[bo + (tb ? c * k + j : j * n + c)];
        out.push(s);
      }
  }
  return out;
}

interface ConvCase { x: number[]; w: number[]; stride: number; pad: "same" | "valid"; dil: number }

/** Direct NHWC convolution in float64, and its two adjoints (the input and filter gradients for dy). */
function refConv(x: Float32Array, xs: number[], w: Float32Array, ws: number[], stride: number, pad: "same" | "valid", dil: number, dy?: Float32Array) {
  const [B, H, W, C] = xs;
  const [KH, KW, , CO] = ws;
  const ekh = (KH - 1) * dil + 1;
  const ekw = (KW - 1) * dil + 1;
  const OH = pad === "same" ? Math.ceil(H / stride) : Math.ceil((H - ekh + 1) / stride);
  const OW = pad === "same" ? Math.ceil(W / stride) : Math.ceil((W - ekw + 1) / stride);
  const pt = pad === "same" ? Math.floor(Math.max((OH - 1) * stride + ekh - H, 0) / 2) : 0;
  const pl = pad === "same" ? Math.floor(Math.max((OW - 1) * stride + ekw - W, 0) / 2) : 0;
  const y = new Array<number>(B * OH * OW * CO).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  const dw = new Array<number>(w.length).fill(0);
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let i = 0; i < KH; i++)
          for (let j = 0; j < KW; j++) {
            const yy = oy * stride - pt + i * dil;
            const xx = ox * stride - pl + j * dil;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            for (let c = 0; c < C; c++)
              for (let o = 0; o < CO; o++) {
                const xi = ((b * H + yy) * W + xx) * C + c;
                const wi = ((i * KW + j) * C + c) * CO + o;
                const yi = ((b * OH + oy) * OW + ox) * CO + o;
                y[yi] += x[xi] * w[wi];
                if (dy) {
                  dx[xi] += dy[yi] * w[wi];
                  dw[wi] += dy[yi] * x[xi];
                }
              }
          }
  return { y, dx, dw, outShape: [B, OH, OW, CO] };
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], stride: 1, pad: "same", dil: 1 },
  { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: "valid", dil: 1 },
  { x: [2, 6, 7, 5], w: [1, 1, 5, 6], stride: 1, pad: "same", dil: 1 },
  { x: [1, 10, 10, 2], w: [3, 3, 2, 2], stride: 1, pad: "same", dil: 2 },
  { x: [2, 9, 9, 3], w: [5, 5, 3, 2], stride: 2, pad: "same", dil: 1 },
  // Stride 1 takes the input gradient as a forward conv of the flipped filter: full padding, uneven padding.
  { x: [2, 7, 6, 3], w: [3, 2, 3, 4], stride: 1, pad: "valid", dil: 1 },
  { x: [2, 6, 6, 2], w: [2, 2, 2, 3], stride: 1, pad: "same", dil: 1 },
  // 16 and 8 channels: oneDNN's channel-blocked layouts (nChw16c on AVX-512, nChw8c on AVX2) then place every
  // element where NHWC does, and the caller's buffers are used with no reorder.
  { x: [2, 6, 5, 16], w: [3, 3, 16, 16], stride: 1, pad: "same", dil: 1 },
  { x: [2, 5, 5, 16], w: [3, 3, 16, 32], stride: 1, pad: "same", dil: 1 },
  { x: [2, 5, 5, 32], w: [3, 3, 32, 16], stride: 2, pad: "same", dil: 1 },
  { x: [3, 4, 4, 8], w: [1, 1, 8, 8], stride: 1, pad: "valid", dil: 1 },
  // 1–4 output channels from whole blocks of 16 input channels, stride 1: conv_direct.c's loops where the CPU has
  // AVX-512 (oneDNN would pad the outputs to 16 channels), oneDNN elsewhere. Every tap position at the borders,
  // uneven 'same' padding, 'valid', dilation, 1×1.
  { x: [2, 7, 6, 16], w: [3, 3, 16, 1], stride: 1, pad: "same", dil: 1 },
  { x: [2, 6, 7, 32], w: [3, 3, 32, 3], stride: 1, pad: "valid", dil: 1 },
  { x: [1, 9, 8, 16], w: [5, 5, 16, 2], stride: 1, pad: "same", dil: 2 },
  { x: [2, 6, 6, 16], w: [2, 2, 16, 3], stride: 1, pad: "same", dil: 1 },
  { x: [3, 5, 4, 48], w: [1, 1, 48, 4], stride: 1, pad: "same", dil: 1 },
  { x: [2, 12, 11, 16], w: [3, 5, 16, 1], stride: 1, pad: "same", dil: 1 },
  // the same few channels at stride 2: oneDNN's
  { x: [2, 9, 9, 16], w: [3, 3, 16, 4], stride: 2, pad: "same", dil: 1 },
];

/**
 * One convolution case through tfjs (plain, fused with bias, both gradients) against the float64 loops. `tol` is
 * relative to 1 + |value|; float32 sums of n unit-size products drift by ~√n·6e-8 times their partial sums (~√n
 * here), so the default grows with the forward's sum length kh·kw·cin: 1e-5, or 6e-8·n above n = 167 (oneDNN's
 * order of summation, a 3×3×32 'valid' case, was 1.36e-5 off on a value of −0.28).
 */
function checkConv(c: ConvCase, tol = Math.max(1e-5, 6e-8 * c.w[0] * c.w[1] * c.w[2])): void {
  tf.tidy(() => {
    const x = normal(c.x) as tf.Tensor4D;
    const w = normal(c.w) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.stride, c.pad, "NHWC", c.dil);
    const dy = normal(y.shape);
    const ref = refConv(x.dataSync() as Float32Array, c.x, w.dataSync() as Float32Array, c.w, c.stride, c.pad, c.dil, dy.dataSync() as Float32Array);
    assert.deepEqual(y.shape, ref.outShape);
    const what = `conv x=${c.x} w=${c.w} s=${c.stride} ${c.pad} d=${c.dil}`;
    near(y.dataSync(), ref.y, tol, what);
    const bias = normal([c.w[3]]);
    const fused = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dil, bias });
    const bv = bias.dataSync();
    near(fused.dataSync(), ref.y.map((v, i) => v + bv[i % c.w[3]]), tol, `fused ${what}`);
    const relu = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dil, bias, activation: "relu" });
    near(relu.dataSync(), ref.y.map((v, i) => Math.max(0, v + bv[i % c.w[3]])), tol, `fused relu ${what}`);
    if (c.dil !== 1) return; // tfjs' conv2d gradient needs dilation 1
    // tfjs' stock Conv2D gradient: Conv2DBackpropInput and Conv2DBackpropFilter (which wasm lacks).
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad).mul(dy).sum())([x, w]);
    near(gx.dataSync(), ref.dx, tol, `dx ${what}`);
    near(gw.dataSync(), ref.dw, tol, `dW ${what}`);
  });
}

/**
 * groupNorm (or, with `fused`, groupNormSilu) and its three gradients (and dx alone) with the native kernels, then
 * without (the library's tfjs formulation; silu(groupNorm) as two ops), compared.
 */
function checkGroupNorm(shape: number[], groups: number, tol: number, fused = false): void {
  const groupNorm = fused ? groupNormSilu : groupNormPlain;
  const c = shape[shape.length - 1];
  const x = normal(shape).mul(3).add(1.5);
  const gamma = normal([c]);
  const beta = normal([c]);
  const dy = normal(shape);
  const run = () =>
    tf.tidy(() => {
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => groupNorm(a, g, b, groups).mul(dy).sum();
      const y = groupNorm(x, gamma, beta, groups);
      const grads = tf.grads(f)([x, gamma, beta]);
      // The likelihood differentiates with respect to x alone: the parameter gradients are pruned.
      const gxOnly = tf.grad((a: tf.Tensor) => groupNorm(a, gamma, beta, groups).mul(dy).sum())(x);
      return [y, ...grads, gxOnly].map((v) => Array.from(v.dataSync()));
    });
  const before = tf.memory().numTensors;
  const native = run();
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  // Outside any tidy: the gradients computed for pruned inputs (γ, β) are freed when the backward pass ends.
  const gx = tf.grad((a: tf.Tensor) => groupNorm(a, gamma, beta, groups).mul(dy).sum())(x);
  assert.equal(tf.memory().numTensors, before + 1, "only the returned gradient remains");
  gx.dispose();
  const threads = nativeKernelsInfo()?.threads ?? 1;
  uninstallNativeKernels();
  try {
    const plain = run();
    ["y", "dx", "dγ", "dβ", "dx (x only)"].forEach((name, i) => near(native[i], plain[i], tol, `groupNorm${fused ? "Silu" : ""} ${shape} ${name}`));
  } finally {
    installNativeKernels(threads);
  }
  tf.dispose([x, gamma, beta, dy]);
}

describe("native kernels (oneDNN)", () => {
  let skip: string | false = false;
  before(async () => {
    await setup();
    skip = nativeKernelsInstalled() ? false : `native kernels unavailable: ${nativeKernelsUnavailableReason()}`;
    if (skip) console.log(`# ${skip}`);
  });

  it("matMul: every transpose pair, batches and broadcast batches, against float64 loops", (t) => {
    if (skip) return t.skip(skip);
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[2, 5, 7], [2, 7, 3], false, false],
      [[1, 5, 7], [4, 7, 3], false, false],
      [[4, 5, 7], [7, 3], false, false],
      [[2, 3, 7, 5], [2, 3, 3, 7], true, true],
      [[1, 7], [7, 9], false, false],
      [[1, 7], [9, 7], false, true],
      [[64, 130], [130, 33], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      tf.tidy(() => {
        const a = normal(sa);
        const b = normal(sb);
        const got = tf.matMul(a, b, ta, tb);
        const want = refMatMul(a.dataSync() as Float32Array, sa, b.dataSync() as Float32Array, sb, ta, tb);
        near(got.dataSync(), want, 1e-5, `matMul ${sa}·${sb} tA=${ta} tB=${tb}`);
        // The fused form adds the bias [n] and applies relu in the same call.
        const n = got.shape[got.rank - 1];
        const bias = normal([n]);
        const bv = bias.dataSync();
        const fused = tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias, activation: "relu" });
        near(fused.dataSync(), want.map((v, i) => Math.max(v + bv[i % n], 0)), 1e-5, `fused matMul ${sa}·${sb} tA=${ta} tB=${tb}`);
      });
    }
  });

  it("dense (linear's kernel): x·W + b and its lazy gradients against float64 loops", (t) => {
    if (skip) return t.skip(skip);
    for (const [n, k, m] of [[5, 7, 3], [1, 34, 128], [64, 130, 2]]) {
      tf.tidy(() => {
        const x = normal([n, k]);
        const w = normal([k, m]);
        const b = normal([m]);
        const dy = normal([n, m]);
        const [xv, wv, bv, dyv] = [x, w, b, dy].map((v) => v.dataSync() as Float32Array);
        const xw = refMatMul(xv, [n, k], wv, [k, m], false, false);
        near(linear(x, w, b).dataSync(), xw.map((v, i) => v + bv[i % m]), 1e-5, `dense ${n}×${k}·${k}×${m} + b`);
        near(linear(x, w).dataSync(), xw, 1e-5, `dense ${n}×${k}·${k}×${m}`);
        const dx = refMatMul(dyv, [n, m], wv, [k, m], false, true);
        const dw = refMatMul(xv, [n, k], dyv, [n, m], true, false);
        const db = Array.from({ length: m }, (_, c) => Array.from({ length: n }, (_, r) => dyv[r * m + c]).reduce((p, q) => p + q, 0));
        const [gx, gw, gb] = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => linear(a, f, c).mul(dy).sum())([x, w, b]);
        near(gx.dataSync(), dx, 1e-5, `dx ${n}×${k}`);
        near(gw.dataSync(), dw, 1e-5, `dW ${n}×${k}`);
        near(gb.dataSync(), db, 1e-5, `db ${n}×${k}`);
      });
    }
  });

  it("dense: a gradient with respect to the input alone computes no weight gradient", async (t) => {
    if (skip) return t.skip(skip);
    const x = normal([16, 8]);
    const w = normal([8, 4]);
    const b = normal([4]);
    const dy = normal([16, 4]);
    const prof = await tf.profile(() => tf.grad((a: tf.Tensor) => linear(a, w, b).mul(dy).sum())(x));
    const products = prof.kernels.filter((e) => e.name === "BatchMatMul").map((e) => JSON.stringify(e.inputShapes));
    assert.deepEqual(products, [JSON.stringify([[16, 4], [8, 4]])], "only dy·Wᵀ");
    assert.ok(prof.kernels.some((e) => e.name === KERNELS.dense), "the forward ran the dense kernel");
    tf.dispose([x, w, b, dy, prof.result as tf.Tensor]);
  });

  it("Add and Multiply under the networks' broadcasts equal float64 loops; other patterns and dtypes go to wasm", (t) => {
    if (skip) return t.skip(skip);
    // [a shape, b shape]: same shapes, per-image bias, channel bias, scalar, either side broadcast, 1-sized axes.
    const cases: [number[], number[]][] = [
      [[3, 5, 4, 6], [3, 5, 4, 6]],
      [[3, 5, 4, 6], [3, 1, 1, 6]],
      [[3, 1, 1, 6], [3, 5, 4, 6]],
      [[3, 5, 4, 6], [6]],
      [[3, 5, 4, 6], []],
      [[], [2, 7]],
      [[2, 1, 7], [2, 1, 7]],
      [[4, 3], [4, 1]], // not one of the patterns: wasm's kernel
      [[2, 3, 4], [3, 1]], // neither
      [[1], [1]],
    ];
    for (const [sa, sb] of cases) {
      tf.tidy(() => {
        const a = normal(sa);
        const b = normal(sb);
        const out = tf.broadcast_util.assertAndGetBroadcastShape(sa, sb);
        const av = a.dataSync();
        const bv = b.dataSync();
        // Reference by explicit index arithmetic on the broadcast shape.
        const idx = (shape: number[], pos: number[]) => {
          const p = pos.slice(pos.length - shape.length);
          return p.reduce((acc, v, i) => acc * shape[i] + (shape[i] === 1 ? 0 : v), 0);
        };
        const total = out.reduce((p, q) => p * q, 1);
        const sum: number[] = [];
        const prod: number[] = [];
        for (let f = 0; f < total; f++) {
          const pos: number[] = [];
          let r = f;
          for (let d = out.length - 1; d >= 0; d--) {
            pos.unshift(r % out[d]);
            r = Math.floor(r / out[d]);
          }
          sum.push(av[idx(sa, pos)] + bv[idx(sb, pos)]);
          prod.push(av[idx(sa, pos)] * bv[idx(sb, pos)]);
        }
        near(tf.add(a, b).dataSync(), sum, 1e-6, `add ${sa} + ${sb}`);
        near(tf.mul(a, b).dataSync(), prod, 1e-6, `mul ${sa} · ${sb}`);
        assert.deepEqual(tf.add(a, b).shape, out);
      });
    }
    tf.tidy(() => {
      near(tf.add(tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")).dataSync(), [4, 6], 0, "int32 add (wasm)");
      assert.equal(tf.add(tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")).dtype, "int32");
      assert.throws(() => tf.add(tf.ones([2, 3]), tf.ones([4])), /broadcast/i, "incompatible shapes: tfjs' own error");
    });
  });

  it("Sum over a contiguous run of axes equals float64 sums (keepDims, negative axes); other axis sets go to wasm", (t) => {
    if (skip) return t.skip(skip);
    const cases: [number[], number[]][] = [
      [[3, 5, 4, 6], [1, 2]], // the per-image bias gradient
      [[3, 5, 4, 6], [0]],
      [[3, 5, 4, 6], [-1]],
      [[2, 7, 300], [2]], // a last axis longer than the 16 lanes, with a tail
      [[2, 3000, 1], [1]],
      [[4, 6], [0, 1]], // a total
      [[1, 129, 70], [1]], // one image: columns split, rows past one block
      [[3, 5, 4, 6], [0, 2]], // not contiguous: wasm's kernel
      [[5], []],
    ];
    for (const [shape, axes] of cases) {
      for (const keepDims of [false, true]) {
        tf.tidy(() => {
          const x = normal(shape).mul(3).add(1);
          const xv = x.dataSync();
          const ax = axes.map((a) => (a < 0 ? a + shape.length : a));
          const outShape = keepDims ? shape.map((d, i) => (ax.includes(i) ? 1 : d)) : shape.filter((_, i) => !ax.includes(i));
          const want = new Float64Array(outShape.reduce((p, q) => p * q, 1));
          const absSum = new Float64Array(want.length);
          const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
          for (let f = 0; f < xv.length; f++) {
            let o = 0;
            for (let d = 0; d < shape.length; d++) if (!ax.includes(d)) o = o * shape[d] + (Math.floor(f / strides[d]) % shape[d]);
            want[o] += xv[f];
            absSum[o] += Math.abs(xv[f]);
          }
          const got = tf.sum(x, axes, keepDims);
          assert.deepEqual(got.shape, outShape, `shape of sum ${shape} over ${axes}`);
          const gv = got.dataSync();
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(gv[i] - want[i]) <= 1e-6 * absSum[i] + 1e-6, `sum ${shape} over ${axes}[${i}]: ${gv[i]} vs ${want[i]}`);
        });
      }
    }
    tf.tidy(() => {
      assert.deepEqual(Array.from(tf.sum(tf.tensor2d([[1, 2], [3, 4]], undefined, "int32"), 0).dataSync()), [4, 6], "int32 (wasm)");
      assert.equal(tf.sum(tf.tensor1d([true, true, false], "bool")).dataSync()[0], 2, "bool (wasm)");
      assert.equal(tf.sum(tf.zeros([0, 3]), 0).shape[0], 3, "empty (wasm)");
    });
  });

  it("Add, Multiply, Concat, SplitV, upsampling, pooling, transposes and Sum split over 3 threads give the 1-thread results exactly", (t) => {
    if (skip) return t.skip(skip);
    // Large enough (≥ 64k floats per part) for the work to be split.
    const x = normal([8, 64, 64, 16]);
    const y = normal([8, 64, 64, 16]);
    const bias = normal([8, 1, 1, 16]);
    const small = normal([8, 32, 32, 16]) as tf.Tensor4D;
    const run = () =>
      tf.tidy(() => {
        const cat = tf.concat([x, y, x], 3);
        const [p, q] = tf.split(cat, [16, 32], 3);
        const sums = [tf.sum(x, [1, 2]), tf.sum(x, 3), tf.sum(x.reshape([1, 8 * 64 * 64, 16]), 1), tf.sum(x.reshape([1, 8 * 64, 64 * 16]), 1), tf.sum(x.reshape([8 * 64 * 64 * 16]))];
        const pooled = tf.avgPool(x as tf.Tensor4D, 2, 2, "valid");
        const transposed = tf.transpose(x.reshape([8 * 64, 64, 16]), [0, 2, 1]);
        return [tf.add(x, y), tf.add(x, bias), tf.mul(x, 0.5), tf.mul(x, y), cat, p, q, tf.image.resizeNearestNeighbor(small, [64, 64]), pooled, transposed, ...sums].map((v) => Array.from(v.dataSync()));
      });
    const one = run();
    installNativeKernels(3);
    try {
      const three = run();
      one.forEach((v, i) => assert.deepEqual(three[i], v, `output ${i}`));
    } finally {
      installNativeKernels(1);
      tf.dispose([x, y, bias, small]);
    }
  });

  it("nearest-neighbour upsampling by 2 and 4 equals index arithmetic; other resizes go to wasm", (t) => {
    if (skip) return t.skip(skip);
    for (const [shape, size] of [[[2, 3, 5, 4], [6, 10]], [[1, 2, 2, 3], [8, 4]], [[2, 3, 3, 2], [9, 9]], [[1, 4, 4, 1], [2, 2]]] as [number[], [number, number]][]) {
      tf.tidy(() => {
        const x = normal(shape) as tf.Tensor4D;
        const xv = x.dataSync();
        const [b, h, w, c] = shape;
        const want: number[] = [];
        for (let n = 0; n < b; n++)
          for (let i = 0; i < size[0]; i++)
            for (let j = 0; j < size[1]; j++)
              for (let k = 0; k < c; k++) want.push(xv[((n * h + Math.floor((i * h) / size[0])) * w + Math.floor((j * w) / size[1])) * c + k]);
        near(tf.image.resizeNearestNeighbor(x, size, false, false).dataSync(), want, 0, `resize ${shape} → ${size}`);
      });
    }
  });

  it("2×2 average pooling and last-two-axes transposes equal index arithmetic; other pools and permutations go to wasm", (t) => {
    if (skip) return t.skip(skip);
    for (const shape of [[2, 4, 6, 3], [1, 2, 2, 1], [3, 28, 28, 16]]) {
      tf.tidy(() => {
        const x = normal(shape) as tf.Tensor4D;
        const xv = x.dataSync();
        const [b, h, w, c] = shape;
        const at = (n: number, i: number, j: number, k: number) => xv[((n * h + i) * w + j) * c + k];
        const want: number[] = [];
        for (let n = 0; n < b; n++)
          for (let i = 0; i < h / 2; i++)
            for (let j = 0; j < w / 2; j++)
              for (let k = 0; k < c; k++) want.push((at(n, 2 * i, 2 * j, k) + at(n, 2 * i, 2 * j + 1, k) + at(n, 2 * i + 1, 2 * j, k) + at(n, 2 * i + 1, 2 * j + 1, k)) / 4);
        near(tf.avgPool(x, 2, 2, "valid").dataSync(), want, 1e-6, `avgPool ${shape}`);
      });
    }
    for (const shape of [[5, 7], [3, 49, 32], [2, 3, 33, 65], [1, 1, 1]]) {
      tf.tidy(() => {
        const x = normal(shape);
        const xv = x.dataSync();
        const r = shape.length;
        const [rows, cols] = shape.slice(r - 2);
        const perm = [...shape.keys()].map((i) => (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2));
        const y = tf.transpose(x, perm);
        assert.deepEqual(y.shape, [...shape.slice(0, r - 2), cols, rows]);
        const want: number[] = [];
        for (let m = 0; m < xv.length / (rows * cols); m++)
          for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) want.push(xv[m * rows * cols + i * cols + j]);
        near(y.dataSync(), want, 0, `transpose ${shape}`);
      });
    }
    // Other windows, strides, paddings and permutations: wasm's kernels, the same numbers as without the addon.
    const x = normal([2, 6, 6, 3]) as tf.Tensor4D;
    const others = () =>
      tf.tidy(() => [tf.avgPool(x, 3, 1, "same"), tf.avgPool(x, 2, 1, "valid"), tf.avgPool(x, 2, 2, "same"), tf.transpose(x, [0, 3, 1, 2]), tf.transpose(x)].map((v) => Array.from(v.dataSync())));
    const native = others();
    const threads = nativeKernelsInfo()?.threads ?? 1;
    uninstallNativeKernels();
    try {
      others().forEach((v, i) => assert.deepEqual(native[i], v, `fallback ${i}`));
    } finally {
      installNativeKernels(threads);
      x.dispose();
    }
  });

  it("conv2d forward and both gradients (stride, padding, dilation, 1×1), against float64 loops", (t) => {
    if (skip) return t.skip(skip);
    for (const c of CONV_CASES) checkConv(c);
  });

  it("convolutions on 3 threads (batch of 5, and of 2: fewer images than threads) compute the same numbers", (t) => {
    if (skip) return t.skip(skip);
    // oneDNN splits over the threads by images, output channels or positions depending on the kernel it picks;
    // batches of 5 and 2 over 3 threads give uneven splits and fewer images than threads. Stride 1 and 2, 'same'
    // and 'valid' (negative right padding in oneDNN's terms), 3×3 and 5×5.
    const cases: ConvCase[] = [
      { x: [5, 32, 32, 8], w: [3, 3, 8, 4], stride: 1, pad: "same", dil: 1 },
      { x: [5, 34, 33, 8], w: [3, 3, 8, 4], stride: 1, pad: "valid", dil: 1 },
      { x: [5, 64, 64, 8], w: [3, 3, 8, 4], stride: 2, pad: "valid", dil: 1 },
      { x: [5, 56, 56, 4], w: [5, 5, 4, 2], stride: 2, pad: "same", dil: 1 },
      { x: [5, 20, 21, 16], w: [3, 3, 16, 1], stride: 1, pad: "same", dil: 1 }, // conv_direct.c: rows, images
      { x: [5, 20, 21, 32], w: [3, 3, 32, 3], stride: 1, pad: "valid", dil: 1 },
    ];
    installNativeKernels(3);
    try {
      // dW sums up to 5·32·32 products per entry: float32 rounding grows ~n·6e-8 (1.6e-4 seen from oneDNN's
      // filter gradient, cin 8, with other random draws).
      for (const c of cases) {
        checkConv(c, 6e-8 * 5 * 32 * 32);
        checkConv({ ...c, x: [2, ...c.x.slice(1)] }, 6e-8 * 5 * 32 * 32);
      }
    } finally {
      installNativeKernels(1);
    }
  });

  it("the U-Net's conv gradients (dx, dW, bias gradient in one oneDNN pass; pruned ones skipped) equal float64 loops", (t) => {
    if (skip) return t.skip(skip);
    // Odd sizes and channel counts (not multiples of oneDNN's 8/16-channel blocks), 1×1, 3×3 and 5×5 filters.
    for (const [xs, k, co] of [[[3, 7, 5, 3], 3, 5], [[2, 6, 6, 17], 1, 9], [[1, 9, 8, 2], 5, 33]] as [number[], number, number][]) {
      // dx sums k·k·Cout products, whose float32 partial sums reach ~√n: rounding grows ~n·6e-8 (5×5×33: 1.4e-5
      // seen with other random draws of this test, when run alone).
      const tol = Math.max(1e-5, 6e-8 * k * k * co);
      tf.tidy(() => {
        const x = normal(xs) as tf.Tensor4D;
        const w = normal([k, k, xs[3], co]) as tf.Tensor4D;
        const b = normal([co]);
        const dy = normal([...xs.slice(0, 3), co]);
        const ref = refConv(x.dataSync() as Float32Array, xs, w.dataSync() as Float32Array, [k, k, xs[3], co], 1, "same", 1, dy.dataSync() as Float32Array);
        const bv = b.dataSync();
        near(conv2dSame(x, w, b).dataSync(), ref.y.map((v, i) => v + bv[i % co]), tol, `conv2dSame ${xs} k${k}`);
        const [gx, gw, gb] = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => conv2dSame(a, f, c).mul(dy).sum())([x, w, b]);
        near(gx.dataSync(), ref.dx, tol, `dx ${xs} k${k}`);
        near(gw.dataSync(), ref.dw, tol, `dW ${xs} k${k}`);
        const dyv = Array.from(dy.dataSync());
        const db = Array.from({ length: co }, (_, c) => dyv.reduce((acc, v, i) => (i % co === c ? acc + v : acc), 0));
        near(gb.dataSync(), db, tol, `db ${xs} k${k}`);
        // Pruned gradients: x alone (the likelihood's VJP: no filter gradient computed), x and b without w.
        near(tf.grad((a: tf.Tensor) => conv2dSame(a, w, b).mul(dy).sum())(x).dataSync(), ref.dx, tol, `dx alone ${xs} k${k}`);
        const [gx2, gb2] = tf.grads((a: tf.Tensor, c: tf.Tensor) => conv2dSame(a, w, c).mul(dy).sum())([x, b]);
        near(gx2.dataSync(), ref.dx, tol, `dx with db ${xs} k${k}`);
        near(gb2.dataSync(), db, tol, `db without dW ${xs} k${k}`);
        near(tf.grad((f: tf.Tensor) => conv2dSame(x, f).mul(dy).sum())(w).dataSync(), ref.dw, tol, `dW without bias ${xs} k${k}`);
      });
    }
  });

  it("the two backward directions share dy's blocked copy only for the same data: interleaved dy tensors, other geometries", (t) => {
    if (skip) return t.skip(skip);
    // 32 channels: where the activations are blocked (AVX2), oneDNN reorders dy into its blocked layout (no
    // reorder-free case; on AVX-512 they stay NHWC and this checks the gradients alone). conv.c keeps the last
    // blocked dy with the token of its data; calls below alternate two dy tensors of one shape, and reuse one dy
    // across convolutions of other filter sizes and input widths (dy's layout the same: reuse is right there too).
    const e = tf.engine();
    const SAME_ = { strides: 1, pad: "same", dataFormat: "NHWC" } as const;
    const inputGrad = (dy: tf.Tensor, w: tf.Tensor, xs: number[]) => e.runKernel("Conv2DBackpropInput", { dy, filter: w }, { ...SAME_, inputShape: xs }) as tf.Tensor;
    const filterGrad = (x: tf.Tensor, dy: tf.Tensor, ws: number[]) => (e.runKernel(KERNELS.convFilterGrad, { x, dy }, { filterShape: ws, bias: false }) as tf.Tensor[])[0];
    tf.tidy(() => {
      const cases = [[[2, 6, 5, 32], 3], [[2, 6, 5, 7], 1], [[2, 6, 5, 48], 5]] as [number[], number][];
      const conv = cases.map(([xs, k]) => ({ xs, ws: [k, k, xs[3], 32], x: normal(xs), w: normal([k, k, xs[3], 32]) }));
      const dys = [normal([2, 6, 5, 32]), normal([2, 6, 5, 32])];
      const ref = (c: (typeof conv)[number], dy: tf.Tensor) =>
        refConv(c.x.dataSync() as Float32Array, c.xs, c.w.dataSync() as Float32Array, c.ws, 1, "same", 1, dy.dataSync() as Float32Array);
      const order: [number, number, "dx" | "dW"][] = [
        [0, 0, "dx"], [0, 1, "dW"], [0, 0, "dW"], [0, 1, "dx"], [0, 1, "dW"], // interleaved dy tensors, same conv
        [1, 1, "dx"], [2, 1, "dW"], [0, 1, "dx"], [2, 0, "dW"], [1, 0, "dx"], [1, 0, "dW"], // other convs
      ];
      for (const [ci, di, which] of order) {
        const c = conv[ci];
        const r = ref(c, dys[di]);
        const got = which === "dx" ? inputGrad(dys[di], c.w, c.xs) : filterGrad(c.x, dys[di], c.ws);
        // Float32 rounding grows with the sum length (as checkConv): dx sums k·k·32 products, dW 2·6·5.
        const n = which === "dx" ? c.ws[0] * c.ws[1] * 32 : 2 * 6 * 5;
        near(got.dataSync(), which === "dx" ? r.dx : r.dw, Math.max(1e-5, 6e-8 * n), `${which} of conv ${ci} with dy ${di}`);
      }
    });
  });

  it("U-Net loss and every parameter gradient equal the wasm kernels' (no native) within float32 rounding", (t) => {
    if (skip) return t.skip(skip);
    // A small U-Net with every layer kind: convolutions with odd channel counts, GroupNorm, SiLU, attention,
    // down/upsampling, the Fourier label embedding. Batch 3: fewer images than oneDNN has blocks to split.
    const net = createUNet({ imageSize: 8, imageChannels: 3, channels: 12, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [4], groups: 4, seed: 5 });
    const x = normal([3, 8, 8, 3]);
    const label = tf.tensor1d([0.05, 1.5, 20]);
    const target = normal([3, 8, 8, 3]);
    const run = () => {
      const { value, grads } = tf.variableGrads(() => net.apply(x, label).sub(target).square().mean() as tf.Scalar, [...net.trainableVariables]);
      const out = [Array.from(value.dataSync()), ...net.trainableVariables.map((v) => Array.from(grads[v.name].dataSync()))];
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const native = run();
    const threads = nativeKernelsInfo()?.threads ?? 1;
    uninstallNativeKernels();
    try {
      const plain = run();
      near(native[0], plain[0], 1e-5, "loss");
      for (let i = 1; i < plain.length; i++) {
        // Relative to the gradient's own scale: float32 sums in different orders differ by a few ulps of the largest terms.
        const scale = Math.max(...plain[i].map(Math.abs), 1e-12);
        const err = Math.max(...plain[i].map((v, j) => Math.abs(v - native[i][j])));
        assert.ok(err <= 2e-4 * scale, `gradient of ${net.trainableVariables[i - 1].name}: max |Δ| ${err} vs scale ${scale}`);
      }
    } finally {
      installNativeKernels(threads);
    }
    tf.dispose([x, label, target]);
    net.dispose();
  });

  it("time embeddings: the sinCosRows kernel equals the tfjs-ops fallback", (t) => {
    if (skip) return t.skip(skip);
    const store = new ParamStore(createRng(9), "emb");
    const fe = new FourierEmbedding(store, "f", 16, 16);
    const pe = new PositionalEmbedding(store, 9);
    const sig = tf.tensor1d([0.01, 0.01, 0.3, 7, 50, 50]);
    const ts = tf.tensor1d([0, 0, 1, 17.5, 999, 999]);
    const run = () => tf.tidy(() => [fe.apply(sig), pe.apply(ts)].map((e) => Array.from(e.dataSync())));
    const native = run();
    uninstallNativeKernels();
    try {
      const plain = run();
      // The fallback's arguments are float32 products (|x| up to ~2π·16·3·4.6): a few 1e-5 of phase.
      near(native[0], plain[0], 2e-4, "fourier");
      near(native[1], plain[1], 2e-4, "positional");
    } finally {
      installNativeKernels();
    }
    tf.dispose([sig, ts]);
    store.dispose();
  });

  it("Concat and SplitV (the U-Net's skip connections and their gradient) along every axis equal wasm's", (t) => {
    if (skip) return t.skip(skip);
    const cases: [number[][], number][] = [
      [[[2, 3, 4, 5], [2, 3, 4, 2]], 3],
      [[[2, 3, 4, 5], [2, 1, 4, 5], [2, 2, 4, 5]], 1],
      [[[1, 3, 4], [2, 3, 4]], 0],
      [[[3, 7], [3, 1], [3, 4]], -1],
    ];
    const ins = cases.map(([shapes]) => shapes.map((sh) => normal(sh)));
    const run = () =>
      cases.map(([shapes, axis], k) =>
        tf.tidy(() => {
          const y = tf.concat(ins[k], axis);
          const parts = tf.split(y, shapes.map((sh) => sh.at(axis) as number), axis);
          parts.forEach((p, i) => assert.deepEqual(p.shape, shapes[i]));
          return [y, ...parts].map((v) => Array.from(v.dataSync()));
        }),
      );
    const native = run();
    uninstallNativeKernels();
    try {
      const plain = run();
      plain.forEach((c, k) => c.forEach((v, i) => near(native[k][i], v, 0, `case ${k} output ${i}`)));
      ins.forEach((arr, k) => native[k].slice(1).forEach((v, i) => near(v, Array.from(arr[i].dataSync()), 0, `case ${k} round trip ${i}`)));
    } finally {
      installNativeKernels();
    }
    tf.dispose(ins.flat());
  });

  it("SiLU and its gradient equal the formula in float64", (t) => {
    if (skip) return t.skip(skip);
    tf.tidy(() => {
      // Wide range, including where exp over/underflows in float32.
      const xs = [...Array.from({ length: 2001 }, (_, i) => (i - 1000) / 50), -120, -88, 88, 120, 0];
      const x = tf.tensor1d(xs);
      const dyv = xs.map((_, i) => Math.cos(i));
      const dy = tf.tensor1d(dyv);
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      near(silu(x).dataSync(), xs.map((v) => v * sig(v)), 2e-6, "silu");
      const g = tf.grad((a: tf.Tensor) => silu(a).mul(dy).sum())(x);
      near(g.dataSync(), xs.map((v, i) => dyv[i] * sig(v) * (1 + v * (1 - sig(v)))), 2e-6, "silu gradient");
      assert.ok(Number.isNaN(silu(tf.tensor1d([NaN])).dataSync()[0]), "NaN propagates");
    });
    // Long enough (300k) for the addon to split it over 3 threads at uneven element boundaries.
    installNativeKernels(3);
    try {
      tf.tidy(() => {
        const xs = Array.from({ length: 300_001 }, (_, i) => Math.sin(i) * 12);
        const dyv = xs.map((_, i) => Math.cos(i));
        const sig = (v: number) => 1 / (1 + Math.exp(-v));
        const [x, dy] = [tf.tensor1d(xs), tf.tensor1d(dyv)];
        near(silu(x).dataSync(), xs.map((v) => v * sig(v)), 2e-6, "silu, 3 threads");
        const g = tf.grad((a: tf.Tensor) => silu(a).mul(dy).sum())(x);
        near(g.dataSync(), xs.map((v, i) => dyv[i] * sig(v) * (1 + v * (1 - sig(v)))), 2e-6, "silu gradient, 3 threads");
      });
    } finally {
      installNativeKernels(1);
    }
  });

  it("GroupNorm forward and gradients equal the library's tfjs formulation", (t) => {
    if (skip) return t.skip(skip);
    checkGroupNorm([3, 5, 4, 8], 4, 2e-5);
  });

  it("GroupNorm with SiLU fused (one pass each way) equals silu(groupNorm) in tfjs ops", (t) => {
    if (skip) return t.skip(skip);
    checkGroupNorm([3, 5, 4, 8], 4, 2e-5, true);
    checkGroupNorm([2, 7, 7, 32], 8, 2e-5, true);
  });

  it("GroupNorm split over threads (whole images per thread) equals the tfjs formulation", (t) => {
    if (skip) return t.skip(skip);
    // Large enough (≥ 64k floats per range) for the addon to split batches of 5 and 2 over 3 threads. The tfjs
    // side sums 5·32·32 float32 terms per dγ entry, hence the looser tolerance.
    installNativeKernels(3);
    try {
      checkGroupNorm([5, 32, 32, 32], 8, 1e-4);
      checkGroupNorm([2, 32, 32, 32], 8, 1e-4);
      checkGroupNorm([5, 32, 32, 32], 8, 1e-4, true);
    } finally {
      installNativeKernels(1);
    }
  });

  it("Adam (with a clipping scale) and EMA updates equal the tfjs formulation", (t) => {
    if (skip) return t.skip(skip);
    const init = [normal([6, 4]), normal([4])];
    const grads = [[normal([6, 4]), normal([4])], [normal([6, 4]).mul(10), normal([4]).mul(10)]];
    const run = () => {
      const vars = init.map((v) => tf.variable(v.clone()));
      const adam = new Adam(vars, { lr: 1e-2 });
      const ema = new EMA(vars, 0.9);
      grads.forEach((g, k) => {
        adam.apply(g, 1e-2, k === 0 ? 1 : 0.37);
        ema.update();
      });
      const out = [...vars, ...ema.shadow].map((v) => Array.from(v.dataSync()));
      adam.dispose();
      tf.dispose([...vars, ...ema.shadow]);
      return out;
    };
    const native = run();
    uninstallNativeKernels();
    try {
      const plain = run();
      plain.forEach((p, i) => near(native[i], p, 1e-6, `parameter/average ${i}`));
    } finally {
      installNativeKernels();
    }
  });

  it("sin/cos rows for the time embeddings equal Math.sin/Math.cos rounded to float32", (t) => {
    if (skip) return t.skip(skip);
    // The kernel computes in double from the float32 labels and frequencies it is given.
    const sinCosRows = (labels: Float32Array, freqs: Float32Array, dim: number, log = false) =>
      tf.tidy(() => (tf.engine().runKernel(KERNELS.sinCosRows, { label: tf.tensor1d(labels), f: tf.tensor1d(freqs) }, { dim, log }) as tf.Tensor).dataSync());
    // Arguments as the embeddings make them: log σ or t times frequencies up to 2π·16·3 (Fourier, scale 16), and
    // beyond: |x| up to 3e4 by the reduction, past 1e6 through libm; negative, zero, repeated labels.
    const args = Float32Array.from([0, -0, 1e-3, -4.6, 3.9, 3.9, 1234.5, -987.25, 5e6, -2.5e7, 0.5]);
    const f = Float32Array.from([0, 1, -1, 2 * Math.PI * 16 * 1.7, Math.PI / 2, 1e-4, 301.37, -64.5]);
    const dim = 2 * f.length + 1; // odd: one zero column
    const out = sinCosRows(args, f, dim);
    for (let b = 0; b < args.length; b++) {
      for (let k = 0; k < f.length; k++) {
        const x = args[b] * f[k];
        // === on purpose: the sign of a zero is not compared (rows of labels 0 and −0 are shared, as in the JS path).
        const [sin, cos] = [out[b * dim + k], out[b * dim + f.length + k]];
        assert.ok(sin === Math.fround(Math.sin(x)), `sin(${x}): ${sin} vs ${Math.sin(x)}`);
        assert.ok(cos === Math.fround(Math.cos(x)), `cos(${x}): ${cos} vs ${Math.cos(x)}`);
      }
      assert.equal(out[b * dim + dim - 1], 0, "padding");
    }
    // Many arguments: at most one float32 rounding step away (a double result within 1e-15 of a rounding midpoint).
    const many = Float32Array.from({ length: 20_000 }, (_, i) => (i - 10_000) * 0.0137);
    const g = Float32Array.from([1, 6.1, 48.3, 301.6]);
    const o = sinCosRows(many, g, 8);
    for (let i = 0; i < o.length; i++) {
      const x = many[Math.floor(i / 8)] * g[i % 4];
      const want = Math.fround(i % 8 < 4 ? Math.sin(x) : Math.cos(x));
      assert.ok(Math.abs(o[i] - want) <= 6e-8, `${i % 8 < 4 ? "sin" : "cos"}(${x}): ${o[i]} vs ${want}`);
    }
    // log: true takes the log of the label first (Fourier features of log σ).
    const sig = Float32Array.from([0.01, 0.01, 2.5, 50]);
    const lo = sinCosRows(sig, g, 8, true);
    for (let i = 0; i < lo.length; i++) {
      const x = Math.log(sig[Math.floor(i / 8)]) * g[i % 4];
      assert.ok(Math.abs(lo[i] - Math.fround(i % 8 < 4 ? Math.sin(x) : Math.cos(x))) <= 6e-8, `log: ${i}`);
    }
  });

  it("sum of squares over several tensors reads the heap in place and propagates NaN", (t) => {
    if (skip) return t.skip(skip);
    const sumSquares = (inputs: tf.NamedTensorMap) => tf.tidy(() => (tf.engine().runKernel(KERNELS.sumSquares, inputs) as tf.Tensor).dataSync()[0]);
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor2d([[0.5, -4]]);
    assert.equal(sumSquares({ a, b }), 1 + 4 + 9 + 0.25 + 16);
    const c = tf.tensor1d([1, NaN]);
    assert.ok(Number.isNaN(sumSquares({ a, c })));
    // Long inputs run through the lane sums (blocks of 4096, 64 lanes, a tail): within float32 rounding of the
    // float64 sum; a NaN or ∞ anywhere in a lane still comes out.
    const n = 3 * 4096 + 77;
    const long = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 13)));
    let want = 0;
    for (const v of long) want += v * v;
    const got = sumSquares({ l: tf.tensor1d(long), a });
    assert.ok(Math.abs(got - (want + 14)) <= 1e-6 * want, `${got} vs ${want + 14}`);
    long[5000] = Infinity;
    assert.equal(sumSquares({ l: tf.tensor1d(long) }), Infinity);
    long[9001] = NaN;
    assert.ok(Number.isNaN(sumSquares({ l: tf.tensor1d(long) })));
    tf.dispose([a, b, c]);
  });

  it("uninstall restores the wasm kernels and install puts the native ones back", (t) => {
    if (skip) return t.skip(skip);
    uninstallNativeKernels();
    assert.ok(!nativeKernelsInstalled());
    assert.equal(nativeKernelsUnavailableReason(), "not installed");
    assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm"), undefined, "wasm has no filter gradient of its own");
    tf.tidy(() => near(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync(), [11], 0, "wasm matMul"));
    assert.ok(installNativeKernels());
    assert.ok(nativeKernelsInstalled());
  });

  it("asked-for threads go to the native kernels (OpenMP pool sized before it loads); wasm keeps one thread", (t) => {
    if (skip) return t.skip(skip);
    const script = `
      require(${JSON.stringify(path.join(__dirname, "..", "..", "lib", "backend"))})
        .initBackend({ backend: "wasm", quiet: true, wasmThreads: 2 })
        .then((info) => console.log(JSON.stringify({ ...info, omp: process.env.OMP_NUM_THREADS })));`;
    // A clean OpenMP environment (this process's own loadAddon has set it).
    const env = { ...process.env };
    delete env.OMP_NUM_THREADS;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000, env });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { threads: number; wasmThreadsToNative?: boolean; native?: { threads: number; library: string }; omp?: string };
    assert.equal(info.threads, 1);
    assert.equal(info.wasmThreadsToNative, true);
    assert.equal(info.native?.threads, 2);
    assert.equal(info.omp, "2");
    assert.match(info.native?.library ?? "", /^oneDNN \d+\.\d+\.\d+ \w+$/);
  });

  it("1000 training-style steps leave no tensors behind", (t) => {
    if (skip) return t.skip(skip);
    const w = tf.variable(normal([8, 8]));
    const gamma = tf.variable(tf.ones([8]));
    const beta = tf.variable(tf.zeros([8]));
    const adam = new Adam([w, gamma, beta]);
    const x = normal([4, 3, 3, 8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      const { value, grads } = tf.variableGrads(() => silu(groupNorm(tf.matMul(x.reshape([-1, 8]), w), gamma, beta, 2)).square().mean() as tf.Scalar, [w, gamma, beta]);
      adam.apply([grads[w.name], grads[gamma.name], grads[beta.name]], 1e-3, 0.5);
      tf.dispose([value, ...Object.values(grads)]);
    }
    assert.equal(tf.memory().numTensors, before);
    adam.dispose();
    tf.dispose([w, gamma, beta, x]);
  });
});
