/**
 * Faster gradients for stock tfjs ops, installed process-wide with `installFastGradients()`.
 *
 * Why: on the wasm backend (1) matMul with transposeA / transposeB falls back to a scalar loop (~1 GFLOP/s
 * against ~15–20 for a plain XNNPACK matMul) and tfjs' own BatchMatMul gradient uses exactly those flags;
 * (2) a Sum over leading axes (the gradient of every broadcast bias add) transposes and reduces in scalar code.
 * lib/models works around (1) with `tf.customGrad` layers, but a custom gradient computes every input's gradient
 * eagerly, so a VJP with respect to x alone (the likelihood's divergence, a corrector's score gradient) still pays
 * for the weight gradients. A registered kernel gradient is lazy: tfjs prunes the inputs that are not on the
 * path to the requested gradients and never calls their thunks.
 *
 * What it changes (same math, other kernels):
 * - BatchMatMul: every product of the stock gradient, with the transposes made explicit (`tf.transpose` of the
 *   last two axes, then a plain matMul);
 * - Add / Sub: when the broadcast reduction runs over LEADING axes only (a bias [C] added to [N, …, C]), the sum
 *   is onesᵀ·dy, one plain matMul; any other broadcast keeps the stock Sum.
 * The previous configurations are kept; `uninstallFastGradients()` puts them back.
 */
import * as tf from "@tensorflow/tfjs";
import { nativeKernelsInstalled } from "./native";

type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Record<string, () => tf.Tensor>;
interface GradConfigLike {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  gradFunc: GradFunc;
  saveAllInputs?: boolean;
}

const saved = new Map<string, GradConfigLike>();

function swapLast(x: tf.Tensor): tf.Tensor {
  if (x.rank < 2) return x;
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/**
 * matMul(x, y, tA, tB) without the transposed-flag kernels — unless lib/perf/native's oneDNN kernels are
 * installed, which take the flags at full speed (an explicit transpose would only add a copy).
 */
function mm(x: tf.Tensor, y: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  if (nativeKernelsInstalled()) return tf.matMul(x, y, tA, tB);
  return tf.matMul(tA ? swapLast(x) : x, tB ? swapLast(y) : y);
}

const batchMatMulGrad: GradFunc = (dy, s, attrs) => {
  const d = dy as tf.Tensor;
  const [a, b] = s;
  const tA = Boolean(attrs.transposeA);
  const tB = Boolean(attrs.transposeB);
  // The four cases of tfjs' BatchMatMul_grad, product for product.
  if (!tA && !tB) return { a: () => mm(d, b, false, true), b: () => mm(a, d, true, false) };
  if (!tA && tB) return { a: () => mm(d, b, false, false), b: () => mm(d, a, true, false) };
  if (tA && !tB) return { a: () => mm(b, d, false, true), b: () => mm(a, d, false, false) };
  return { a: () => mm(b, d, true, true), b: () => mm(d, a, true, true) };
};

/** Sum of dy down to `shape` (the broadcast reduction), by matMul when only leading axes are reduced. */
export function reduceTo(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const out = dy.shape;
  // Align `shape` to the right of `out`, as broadcasting does.
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  const axes = out.map((n, i) => (padded[i] === 1 && n !== 1 ? i : -1)).filter((i) => i >= 0);
  if (axes.length === 0) return dy.reshape(shape);
  const k = axes.length;
  const leading = axes.every((ax, i) => ax === i) && out.slice(k).every((n, i) => padded[k + i] === n);
  if (!leading) return tf.sum(dy, axes).reshape(shape);
  const rows = out.slice(0, k).reduce((p, n) => p * n, 1);
  const cols = out.slice(k).reduce((p, n) => p * n, 1);
  return tf.matMul(tf.ones([1, rows]), dy.reshape([rows, cols])).reshape(shape);
}

const addGrad: GradFunc = (dy, s) => {
  const d = dy as tf.Tensor;
  const [a, b] = s;
  return { a: () => reduceTo(d, a.shape), b: () => reduceTo(d, b.shape) };
};

const subGrad: GradFunc = (dy, s) => {
  const d = dy as tf.Tensor;
  const [a, b] = s;
  return { a: () => reduceTo(d, a.shape), b: () => reduceTo(d, b.shape).neg() };
};

const FAST: GradConfigLike[] = [
  { kernelName: "BatchMatMul", inputsToSave: ["a", "b"], gradFunc: batchMatMulGrad },
  { kernelName: "Add", inputsToSave: ["a", "b"], gradFunc: addGrad },
  { kernelName: "Sub", inputsToSave: ["a", "b"], gradFunc: subGrad },
];

/** Replaces the gradients listed in the file comment (idempotent). Affects every later gradient in the process. */
export function installFastGradients(): void {
  for (const g of FAST) {
    if (saved.has(g.kernelName)) continue;
    const prev = tf.getGradient(g.kernelName) as unknown as GradConfigLike | undefined;
    if (!prev) throw new Error(`installFastGradients: tfjs has no gradient registered for ${g.kernelName}`);
    saved.set(g.kernelName, prev);
    silently(() => tf.registerGradient(g as unknown as tf.GradConfig));
  }
}

/** Restores the stock gradients. */
export function uninstallFastGradients(): void {
  for (const [, prev] of saved) silently(() => tf.registerGradient(prev as unknown as tf.GradConfig));
  saved.clear();
}

export function fastGradientsInstalled(): boolean {
  return saved.size > 0;
}

/** tfjs warns when a gradient is registered twice; here that is the point, so the warning is muted. */
function silently(fn: () => void): void {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    fn();
  } finally {
    console.warn = warn;
  }
}
