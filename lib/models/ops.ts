/**
 * Differentiable primitives written so that both the forward AND the backward pass run fast on every tfjs backend,
 * in particular on wasm (XNNPACK), where the stock gradients are slow or missing:
 *
 * - matMul with transposeA / transposeB (what tfjs' own MatMul gradient uses) falls to a scalar loop on wasm,
 *   an order of magnitude slower than an explicit `tf.transpose` followed by a plain matMul. `linear` and
 *   `bmm` therefore carry their own gradients written with explicit transposes.
 * - wasm has no `Conv2DBackpropFilter` kernel at all (training any stock conv fails with "Kernel
 *   'Conv2DBackpropFilter' not registered") and its `Conv2DBackpropInput` is a scalar loop. `conv2dSame` writes
 *   both gradients as forward `conv2d` calls: the input gradient is a conv with the spatially flipped,
 *   channel-swapped filter; the filter gradient is a 'valid' conv of the (padded) input, with batch and channels
 *   swapped, against the output gradient used as a filter.
 * - Up/down-sampling are reshapes and broadcasts (their gradients are sums), never gather (no UnsortedSegmentSum
 *   on wasm) and never transposed convolutions.
 *
 * Gradients are checked against finite differences and against tfjs' stock gradients on the cpu backend
 * (test/layers.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { fail } from "../validate";
import { fastGradientsInstalled } from "../perf/fastGradients";
import { KERNELS, kernelOr } from "../perf/kernels";

type Save = tf.GradSaveFunc;

/** y = x W + b for x [N, in], W [in, out], b [out]. */
const linearOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, Save];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x, b: w, bias: b }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2), tf.sum(dy2, 0)];
    },
  };
});

/** y = x W (no bias), same fast gradient. */
const matMulOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, Save];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2)];
    },
  };
});

/**
 * Affine map on the last axis: x [..., in] · W [in, out] (+ b [out]) → [..., out]. Leading axes are flattened
 * into one matrix product (a 1×1 convolution / "NIN" layer is this on [B, H, W, C]).
 *
 * The dense kernel where the backend has it (oneDNN: product and bias in one call, lazy registered gradients).
 * Otherwise, with lib/perf/fastGradients installed (initBackend does it): while a gradient is being recorded, a
 * plain tf.matMul + add, whose registered gradients are lazy (a VJP with respect to x alone never computes the
 * weight gradients) and transpose explicitly; otherwise the fused matMul + bias (one XNNPACK call); the measured
 * gains are in tools/bench/README.md. Without them (tfjs used without initBackend), the customGrad ops above.
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = w.shape as [number, number];
  if (x.shape[x.rank - 1] !== inDim) fail("linear", "x.shape", x.shape, `[..., ${inDim}] to match the weight [${w.shape}]`);
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : x.reshape([-1, inDim]);
  const y = kernelOr(KERNELS.dense, b ? { x: x2, w, b } : { x: x2, w }, {}, () => {
    if (!fastGradientsInstalled()) return b ? linearOp(x2, w, b) : matMulOp(x2, w);
    if (tf.engine().isTapeOn()) return b ? tf.matMul(x2, w).add(b) : tf.matMul(x2, w);
    return b ? tf.fused.matMul({ a: x2 as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }) : tf.matMul(x2, w);
  });
  return x.rank === 2 ? y : y.reshape([...lead, outDim]);
}

/** Batched a [B, n, k] · b [B, k, m] → [B, n, m] with gradients written as plain batched matMuls. */
export const bmm = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, Save];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const dy3 = dy as tf.Tensor3D;
      return [tf.matMul(dy3, tf.transpose(bs, [0, 2, 1])), tf.matMul(tf.transpose(as, [0, 2, 1]), dy3)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor3D;

/** Gradients [dx, dW] (and the bias gradient [Cout] when `bias`) of a stride-1 'same' conv (see file comment). */
function convGrads(x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D, bias: boolean): tf.Tensor[] {
  const grads: tf.Tensor[] = convGradsByForwardConvs(x, w, dy);
  return bias ? [...grads, tf.sum(dy, [0, 1, 2])] : grads;
}

function convGradsByForwardConvs(x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const k = w.shape[0];
  const p = (k - 1) / 2;
  // dx[b,y,x,ci] = Σ_{i,j,co} dy[b, y−i+p, x−j+p, co] W[i,j,ci,co]: a 'same' conv with the flipped filter.
  const wFlip = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  const dx = tf.conv2d(dy, wFlip, 1, "same");
  // dW[i,j,ci,co] = Σ_{b,h,w} xpad[b, h+i, w+j, ci] dy[b,h,w,co]: a 'valid' conv where the input channels play the
  // batch, the batch plays the input channels, and dy [H, W, B, Cout] is the filter. Output [Cin, k, k, Cout].
  // Padding is an explicit Pad: the wasm Conv2D given a numeric pad with these shapes corrupted its heap
  // ("memory access out of bounds") in tfjs 4.22.
  const xPad = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
  const xT = tf.transpose(xPad, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const dw = tf.transpose(tf.conv2d(xT, dyT, 1, "valid"), [1, 2, 0, 3]) as tf.Tensor4D;
  return [dx, dw];
}

const conv2dBiasOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x, w, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, Save];
  save([x, w]);
  return {
    value: tf.fused.conv2d({ x, filter: w, strides: 1, pad: "same", bias: b }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      return convGrads(xs, ws, dy as tf.Tensor4D, true);
    },
  };
});

const conv2dOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, Save];
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, "same"),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      return convGrads(xs, ws, dy as tf.Tensor4D, false);
    },
  };
});

/** Stride-1 'same' convolution, NHWC: x [B, H, W, Cin], w [k, k, Cin, Cout] (k odd), b [Cout]. */
export function conv2dSame(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4) fail("conv2dSame", "x.shape", x.shape, "[B, H, W, C] (NHWC)");
  const [kh, kw, cin] = w.shape;
  if (kh !== kw || kh % 2 !== 1) fail("conv2dSame", "filter.shape", w.shape, "[k, k, Cin, Cout] with k odd");
  if (x.shape[3] !== cin) fail("conv2dSame", "x.shape", x.shape, `[B, H, W, ${cin}] to match the filter [${w.shape}]`);
  // The conv2dSame kernel where the backend has it (oneDNN; its registered gradient computes only the gradients
  // asked for), else tfjs' conv with the gradients written as forward convolutions.
  return kernelOr(KERNELS.conv2dSame, b ? { x, w, b } : { x, w }, { bias: b !== undefined }, () => (b ? conv2dBiasOp(x, w, b) : conv2dOp(x, w))) as tf.Tensor4D;
}

/**
 * SiLU / swish x·σ(x): the silu kernel where the backend has it (one fused pass forward, one backward), else its
 * derivative σ(x)(1 + x(1 − σ(x))) written out (one sigmoid, saved).
 */
export function silu(x: tf.Tensor): tf.Tensor {
  return kernelOr(KERNELS.silu, { x }, {}, () => siluOp(x));
}

const siluOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x, save] = args as [tf.Tensor, Save];
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ss] = saved;
      return [dy.mul(ss.mul(tf.scalar(1).add(xs.mul(tf.scalar(1).sub(ss)))))];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

const avgPoolOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x] = args as [tf.Tensor4D, Save];
  const [, h, w] = x.shape;
  return {
    value: tf.avgPool(x, 2, 2, "valid"),
    // Each input pixel is a quarter of one output pixel: the gradient is dy upsampled 2× (nearest) and divided by 4.
    gradFunc: (dy: tf.Tensor) => [tf.image.resizeNearestNeighbor(dy as tf.Tensor4D, [h, w], false, false).mul(0.25)],
  };
});

/**
 * 2×2 average pooling [B, H, W, C] → [B, H/2, W/2, C] (H, W even): tf.avgPool forward (a reshape-to-rank-6 + mean
 * formulation crashed wasm's transpose); the gradient written as a nearest-neighbour resize, because wasm's
 * AvgPoolGrad is a scalar loop, about 20 times slower than the resize at U-Net sizes.
 */
export function avgPool2(x: tf.Tensor): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (x.rank !== 4 || h % 2 !== 0 || w % 2 !== 0) fail("avgPool2", "x.shape", x.shape, "[B, H, W, C] with H and W even");
  return avgPoolOp(x) as tf.Tensor4D;
}

const upsampleOp = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
  const [x] = args as [tf.Tensor4D, Save];
  const [, h, w] = x.shape;
  return {
    value: tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w], false, false),
    // Each input pixel feeds a 2×2 block: its gradient is the block sum = 4 × the 2×2 average pool of dy.
    gradFunc: (dy: tf.Tensor) => [tf.avgPool(dy as tf.Tensor4D, 2, 2, "valid").mul(4)],
  };
});

/**
 * Nearest-neighbour 2× upsampling [B, H, W, C] → [B, 2H, 2W, C]. The forward pass is the resize kernel (with
 * alignCorners = halfPixelCenters = false, output (i, j) reads input (⌊i/2⌋, ⌊j/2⌋): exact duplication); the
 * gradient is 4 × a 2×2 average pool of dy, written by hand because (a) the cpu backend's
 * ResizeNearestNeighborGrad is wrong for batch or channels > 1 in tfjs 4.22, and (b) a stack-based formulation's
 * gradient (Unpack) took ~40 % of a U-Net backward pass on wasm. No gather, no transposed conv.
 */
export function upsampleNearest2(x: tf.Tensor): tf.Tensor4D {
  if (x.rank !== 4) fail("upsampleNearest2", "x.shape", x.shape, "[B, H, W, C]");
  return upsampleOp(x) as tf.Tensor4D;
}

/**
 * Group normalisation over (H, W, C/G) per example and group, then a per-channel affine map: x [B, ..., C],
 * γ, β [C]; eps 1e-6 as the official NCSN++/DDPM++ GroupNorm. The groupNorm kernel where the backend has it (one
 * pass each way), else in tfjs ops with the gradient written in closed form,
 * with x̂ the normalised input, r = 1/√(var + eps), g = dy·γ and means over each group:
 *   dx = r (g − mean(g) − x̂ mean(g x̂)),  dγ = Σ dy x̂,  dβ = Σ dy
 * (fewer kernels than differentiating tf.moments: ~15 % faster on wasm, equal to the stock gradient to 1e-6).
 */
export function groupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps = 1e-6): tf.Tensor {
  return groupNormThen("groupNorm", false, x, gamma, beta, groups, eps);
}

/**
 * silu(groupNorm(x, γ, β, groups)): the U-Net's GroupNorm → SiLU pairs. With the groupNorm kernel it is one pass
 * each way (the activation applied to GroupNorm's output, and its derivative applied to dy before GroupNorm's
 * gradient, from the recomputed output: nothing more is saved); otherwise the two ops.
 */
export function groupNormSilu(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps = 1e-6): tf.Tensor {
  return groupNormThen("groupNormSilu", true, x, gamma, beta, groups, eps);
}

/** GroupNorm, then SiLU when `withSilu`: the groupNorm kernel (attrs.silu), else the ops; errors name `where`. */
function groupNormThen(where: string, withSilu: boolean, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps: number): tf.Tensor {
  const c = x.shape[x.rank - 1];
  if (c % groups !== 0) fail(where, "groups", groups, `a divisor of the channel count ${c}`);
  if (x.rank < 2) fail(where, "x.shape", x.shape, "[B, ..., C]");
  const attrs: tf.NamedAttrMap = withSilu ? { groups, eps, silu: true } : { groups, eps };
  return kernelOr(KERNELS.groupNorm, { x, gamma, beta }, attrs, () => {
    const y = groupNormOp(groups, eps)(x, gamma, beta);
    return withSilu ? silu(y) : y;
  });
}

const gnOps = new Map<string, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

function groupNormOp(groups: number, eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  const key = `${groups}/${eps}`;
  let op = gnOps.get(key);
  if (!op) {
    op = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
      const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, Save];
      const c = x.shape[x.rank - 1];
      const grouped = [x.shape[0], -1, groups, c / groups];
      const xr = x.reshape(grouped);
      const { mean, variance } = tf.moments(xr, [1, 3], true);
      const r = variance.add(eps).rsqrt();
      const xhat = xr.sub(mean).mul(r).reshape(x.shape);
      save([xhat, r, gamma]);
      return {
        value: xhat.mul(gamma).add(beta),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, rr, g] = saved;
          const axes = [...Array(dy.rank - 1).keys()];
          const gr = dy.mul(g).reshape(grouped);
          const xhr = xh.reshape(grouped);
          const m1 = gr.mean([1, 3], true);
          const m2 = gr.mul(xhr).mean([1, 3], true);
          const dx = gr.sub(m1).sub(xhr.mul(m2)).mul(rr).reshape(dy.shape);
          return [dx, dy.mul(xh).sum(axes), dy.sum(axes)];
        },
      };
    }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
    gnOps.set(key, op);
  }
  return op;
}
