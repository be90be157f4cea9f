/**
 * Native kernels for the wasm backend: convolutions and matrix products computed by the system's oneDNN (the
 * library PyTorch runs its CPU convolutions on) directly on tensors in the wasm heap (no copies), through the
 * small addon built from lib/perf/native/*.c by `tools/build-native.js` (run by tools/setup.sh).
 *
 * Why: on the wasm backend the convolutions and matrix products dominate every workload of this project, and
 * XNNPACK's wasm build (128-bit SIMD, no FMA) runs them at a fraction of the core's speed; transposed products
 * and the convolution input gradient are scalar loops there, and the convolution filter gradient does not exist.
 * oneDNN generates its kernels for the CPU it runs on (AVX2, AVX-512, AMX), so the same build is fast on every CPU
 * kind (environment.md has the measurements).
 *
 * What it replaces, for the wasm backend only: BatchMatMul, _FusedMatMul (bias and linear/relu epilogues; other
 * activations go to the wasm kernel), Conv2D and FusedConv2D (NHWC), Add and Multiply under the broadcasts the
 * networks use, 2ᵏ× nearest-neighbour resizes, and it registers the Conv2DBackpropInput /
 * Conv2DBackpropFilter kernels, so tfjs' stock convolution gradients run; Identity shares data instead of copying
 * it (see identityKernel). Every other kernel stays wasm. Results equal the wasm kernels' to float32 rounding
 * (test/perf/native.test.ts).
 *
 * Kernels of its own (names in lib/perf/kernels, which library code calls them through, with a stock-tfjs
 * fallback for every other backend): the dense layer x·W + b in one call, with lazy gradients; SiLU and
 * GroupNorm, each with its gradient as one kernel; a stride-1
 * convolution's three gradients (dx, dW and the bias gradient, the last two in one oneDNN pass); Adam and EMA
 * updates as one kernel per parameter; the global gradient norm's sum of squares read straight from the heap;
 * the time embedding's sin/cos rows in double. Each replaces 3–15 wasm kernels.
 *
 * Optional: when the addon is not built (no compiler or oneDNN), or `SCORE_SDE_NATIVE=0`, nothing changes and
 * `nativeKernelsUnavailableReason()` says why. initBackend installs it; `uninstallNativeKernels()` restores the
 * wasm kernels.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { KERNELS } from "./kernels";

/** The addon's functions (see score_sde_native.c for the argument order). */
interface NativeAddon {
  batchMatMul(a: Float32Array, b: Float32Array, out: Float32Array, batchA: number, batchB: number, m: number, n: number, k: number, transA: number, transB: number): void;
  biasAct(c: Float32Array, bias: Float32Array | null, rows: number, n: number, act: number): void;
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, bias: Float32Array | null, act: number, ...geom: number[]): void;
  /** geom: the 15 numbers of `geometry`, then optionally dy's token (dataToken). */
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, ...geomAndToken: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dbias: Float32Array | null, ...geomAndToken: number[]): void;
  silu(x: Float32Array, y: Float32Array): void;
  siluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  groupNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, b: number, s: number, c: number, g: number, eps: number, silu: number): void;
  groupNormGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, b: number, s: number, c: number, g: number, silu: number): void;
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, gradScale: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, stepSize: number, sqrtBc2: number, eps: number): void;
  ema(shadow: Float32Array, p: Float32Array, out: Float32Array, decay: number): void;
  sumSquares(x: Float32Array): number;
  sinCosRows(args: Float64Array, f: Float64Array, out: Float32Array, dim: number): void;
  binary(a: Float32Array, b: Float32Array, out: Float32Array, op: number, outer: number, mid: number, inner: number, bOuter: number): void;
  upsampleNearest(x: Float32Array, out: Float32Array, b: number, h: number, w: number, c: number, fh: number, fw: number): void;
  avgPool2(x: Float32Array, out: Float32Array, b: number, h: number, w: number, c: number): void;
  transposeLast2(x: Float32Array, out: Float32Array, n: number, rows: number, cols: number): void;
  sumMid(x: Float32Array, out: Float32Array, outer: number, mid: number, inner: number): void;
  concatRows(out: Float32Array, inputs: Float32Array[], inner: Int32Array, rows: number): void;
  splitRows(x: Float32Array, outputs: Float32Array[], inner: Int32Array, rows: number): void;
  setThreads(n: number): void;
  threads(): number;
  description(): string;
}

/** The parts of tfjs-backend-wasm's BackendWasm used here (public methods of the class, untyped in tfjs' API). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: tf.DataId): void;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[];

export const ADDON_FILE = "score_sde_native.node";
const STOCK = [
  "BatchMatMul", "_FusedMatMul", "Conv2D", "FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "Identity", "Concat", "SplitV",
  "Add", "Multiply", "ResizeNearestNeighbor", "Sum", "AvgPool", "Transpose",
] as const;
/** Kernels of this project's own (lib/perf/kernels: library code reaches them through kernelOr / kernelsOr). */
const OWN = KERNELS;

let addon: NativeAddon | undefined;
let loadError: string | undefined;
let installed = false;
/** The wasm kernels replaced (undefined where wasm had none), to fall back to and to restore. */
const wasmKernels = new Map<string, KernelFunc | undefined>();

/** Where the addon is looked for: next to this file's source (ts-node) or from the compiled copy in build/. */
function addonCandidates(): string[] {
  const env = process.env.SCORE_SDE_NATIVE_PATH;
  if (env) return [env];
  return [path.join(__dirname, "native", ADDON_FILE), path.join(__dirname, "..", "..", "..", "lib", "perf", "native", ADDON_FILE)];
}

function loadAddon(threads = 1): NativeAddon | undefined {
  if (addon || loadError) return addon;
  // The OpenMP runtime (libgomp, shared by oneDNN and the addon's own loops) sizes its first pool from
  // OMP_NUM_THREADS when it loads; Node's process.env writes through to the C environment, so it is set here,
  // before the addon (and libgomp) is loaded. setThreads changes it later.
  process.env.OMP_NUM_THREADS ??= String(threads);
  if (process.env.SCORE_SDE_NATIVE === "0") {
    loadError = "disabled by SCORE_SDE_NATIVE=0";
    return undefined;
  }
  const file = addonCandidates().find((f) => fs.existsSync(f));
  if (!file) {
    loadError = `${ADDON_FILE} not built (run \`node tools/build-native.js\`; needs gcc and libdnnl-dev)`;
    return undefined;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as NativeAddon;
  } catch (err) {
    loadError = `${file} failed to load: ${(err as Error).message.split("\n")[0]}`;
  }
  return addon;
}

/**
 * Whether the addon loads (loading it sizes the OpenMP pool to `threads`). initBackend asks before starting the
 * threaded wasm build: with the native kernels the threads go to the addon instead (see lib/backend.ts).
 */
export function nativeAddonLoadable(threads = 1): boolean {
  return loadAddon(threads) !== undefined;
}

/** Why the native kernels are not in use (undefined when they are installed). */
export function nativeKernelsUnavailableReason(): string | undefined {
  loadAddon();
  if (loadError) return loadError;
  if (tf.getBackend() !== "wasm") return `backend is ${tf.getBackend()}, not wasm`;
  return installed ? undefined : "not installed";
}

/**
 * True while the native kernels are registered AND wasm is the active backend: lib code asks this before using the
 * fused ops (a process can switch to another backend, e.g. tests comparing against cpu).
 */
export function nativeKernelsInstalled(): boolean {
  return installed && tf.getBackend() === "wasm";
}

/** The library behind the kernels ("oneDNN 2.6.3 avx512_core": version and instruction set) and the thread count. */
export function nativeKernelsInfo(): { library: string; threads: number } | undefined {
  const a = loadAddon();
  return a ? { library: a.description(), threads: a.threads() } : undefined;
}

function heap(backend: unknown, t: tf.TensorInfo): Float32Array {
  return (backend as WasmBackendLike).typedArrayFromHeap(t);
}

function output(backend: unknown, shape: number[]): tf.TensorInfo {
  return (backend as WasmBackendLike).makeOutput(shape, "float32");
}

/** The broadcast batch shape when it holds max(batchA, batchB) matrices laid out as the addon expects, else undefined. */
function broadcastOuter(outerA: number[], outerB: number[]): number[] | undefined {
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined; // incompatible shapes: the wasm kernel throws tfjs' own error
  }
  return size(outer) === Math.max(size(outerA), size(outerB)) ? outer : undefined;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Epilogues the addon computes itself; others fall back to the wasm kernel. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

function fallback(name: string, args: Parameters<KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const k = wasmKernels.get(name);
  if (!k) throw new Error(`native kernels: ${name} with these arguments has no wasm kernel to fall back to`);
  return k(args);
}

/** BatchMatMul / _FusedMatMul: out = act(op(a) · op(b) + bias), batch dims broadcast when one side has 1. */
function matMulKernel(name: "BatchMatMul" | "_FusedMatMul"): KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const bias = inputs.bias as tf.TensorInfo | undefined;
    const act = ACTIVATIONS[attrs.activation ?? "linear"];
    const ra = a.shape.length;
    const rb = b.shape.length;
    const ta = Boolean(attrs.transposeA);
    const tb = Boolean(attrs.transposeB);
    const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = size(outerA);
    const batchB = size(outerB);
    const outer = batchA === batchB || batchA === 1 || batchB === 1 ? broadcastOuter(outerA, outerB) : undefined;
    if (
      a.dtype !== "float32" || b.dtype !== "float32" || k !== kb || outer === undefined || act === undefined ||
      inputs.preluActivationWeights != null || (bias != null && (bias.shape.length !== 1 || bias.shape[0] !== n))
    ) {
      return fallback(name, args);
    }
    const outShape = [...(outer as number[]), m, n];
    const out = output(backend, outShape);
    if (size(outShape) === 0) return out;
    const lib = addon as NativeAddon;
    const o = heap(backend, out);
    lib.batchMatMul(heap(backend, a), heap(backend, b), o, batchA, batchB, m, n, k, ta ? 1 : 0, tb ? 1 : 0);
    if (bias || act) lib.biasAct(o, bias ? heap(backend, bias) : null, size(outShape) / n, n, act);
    return out;
  };
}

/** dense: x [N, in] · w [in, out] (+ b [out]), computed as the _FusedMatMul above (its checks and fallbacks too). */
const fusedMatMul = matMulKernel("_FusedMatMul");
const denseKernel: KernelFunc = ({ inputs, backend }) => {
  const { x, w, b } = inputs as Record<"x" | "w" | "b", tf.TensorInfo>;
  return fusedMatMul({ inputs: b ? { a: x, b: w, bias: b } : { a: x, b: w }, backend, attrs: {} });
};

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
  inputShape?: number[];
  filterShape?: number[];
}

/**
 * A number naming a tensor's data (its dataId), never given to other data: the convolution gradients pass dy's, so
 * that the second backward direction on the same dy reuses the blocked copy the first made (conv.c). Tensors'
 * data never changes (no kernel writes into its inputs), so equal tokens mean equal contents. Wraps after 2³¹ − 1.
 */
const dataTokens = new WeakMap<object, number>();
let lastToken = 0;
function dataToken(t: tf.TensorInfo): number {
  let k = dataTokens.get(t.dataId);
  if (k === undefined) {
    lastToken = lastToken === 0x7fffffff ? 1 : lastToken + 1;
    k = lastToken;
    dataTokens.set(t.dataId, k);
  }
  return k;
}

/** The geometry the addon takes, in its argument order. */
function geometry(c: tf.backend_util.Conv2DInfo): number[] {
  return [
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left,
  ];
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

function convKernel(name: "Conv2D" | "FusedConv2D"): KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const attrs = args.attrs as unknown as ConvAttrs;
    const x = inputs.x as tf.TensorInfo;
    const w = inputs.filter as tf.TensorInfo;
    const bias = inputs.bias as tf.TensorInfo | undefined;
    const act = ACTIVATIONS[attrs.activation ?? "linear"];
    const cout = w.shape[3];
    if (
      (attrs.dataFormat ?? "NHWC") !== "NHWC" || x.dtype !== "float32" || act === undefined ||
      inputs.preluActivationWeights != null || (bias != null && size(bias.shape) !== cout)
    ) {
      return fallback(name, args);
    }
    const info = convInfo(x.shape, w.shape, attrs);
    const out = output(backend, info.outShape);
    if (size(info.outShape) === 0) return out;
    (addon as NativeAddon).conv2d(heap(backend, x), heap(backend, w), heap(backend, out), bias ? heap(backend, bias) : null, act, ...geometry(info));
    return out;
  };
}

/**
 * The two convolution gradients: "input" (inputs dy, filter → dx of attrs.inputShape) and "filter" (inputs x, dy →
 * dW of attrs.filterShape). tfjs' Conv2D gradient calls them with dilation 1.
 */
function convGradKernel(which: "input" | "filter"): KernelFunc {
  const name = which === "input" ? "Conv2DBackpropInput" : "Conv2DBackpropFilter";
  return (args) => {
    const { inputs, backend } = args;
    const attrs = args.attrs as unknown as ConvAttrs;
    if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return fallback(name, args);
    const dy = inputs.dy as tf.TensorInfo;
    const [other, xShape, wShape] =
      which === "input"
        ? [inputs.filter as tf.TensorInfo, attrs.inputShape as number[], (inputs.filter as tf.TensorInfo).shape]
        : [inputs.x as tf.TensorInfo, (inputs.x as tf.TensorInfo).shape, attrs.filterShape as number[]];
    const info = convInfo(xShape, wShape, { ...attrs, dilations: 1 });
    const out = output(backend, which === "input" ? xShape : wShape);
    if (size(out.shape) === 0) return out;
    const lib = addon as NativeAddon;
    if (which === "input") lib.conv2dBackpropInput(heap(backend, dy), heap(backend, other), heap(backend, out), ...geometry(info), dataToken(dy));
    else lib.conv2dBackpropFilter(heap(backend, other), heap(backend, dy), heap(backend, out), null, ...geometry(info), dataToken(dy));
    return out;
  };
}


function checkF32(where: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== "float32") throw new Error(`${where}: float32 tensors only, got ${t.dtype}`);
}

const siluKernel: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  checkF32("silu", x);
  const y = output(backend, x.shape);
  (addon as NativeAddon).silu(heap(backend, x), heap(backend, y));
  return y;
};

const siluGradKernel: KernelFunc = ({ inputs, backend }) => {
  const dy = inputs.dy as tf.TensorInfo;
  const x = inputs.x as tf.TensorInfo;
  checkF32("siluGrad", dy, x);
  const dx = output(backend, x.shape);
  (addon as NativeAddon).siluGrad(heap(backend, dy), heap(backend, x), heap(backend, dx));
  return dx;
};

/** [B, S, C] view of a [B, ..., C] tensor. */
function bsc(shape: number[]): [number, number, number] {
  const c = shape[shape.length - 1];
  return [shape[0], size(shape) / (shape[0] * c), c];
}

const groupNormKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { groups, eps, silu } = attrs as { groups: number; eps: number; silu?: boolean };
  checkF32("groupNorm", x, gamma, beta);
  const [b, s, c] = bsc(x.shape);
  const y = output(backend, x.shape);
  const mean = output(backend, [b, groups]);
  const rstd = output(backend, [b, groups]);
  const h = (t: tf.TensorInfo) => heap(backend, t);
  (addon as NativeAddon).groupNorm(h(x), h(gamma), h(beta), h(y), h(mean), h(rstd), b, s, c, groups, eps, silu ? 1 : 0);
  return [y, mean, rstd];
};

/** [dx, dγ [C], dβ [C]] from one pass (see group_norm_grad in elementwise.c); attrs.silu: through the fused SiLU. */
const groupNormGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, gamma, beta, mean, rstd } = inputs as Record<"dy" | "x" | "gamma" | "beta" | "mean" | "rstd", tf.TensorInfo>;
  const { groups, silu } = attrs as { groups: number; silu?: boolean };
  checkF32("groupNormGrad", dy, x, gamma, beta, mean, rstd);
  const [b, s, c] = bsc(x.shape);
  const outs = [output(backend, x.shape), output(backend, [c]), output(backend, [c])];
  const h = (t: tf.TensorInfo) => heap(backend, t);
  (addon as NativeAddon).groupNormGrad(h(dy), h(x), h(gamma), h(beta), h(mean), h(rstd), h(outs[0]), h(outs[1]), h(outs[2]), b, s, c, groups, silu ? 1 : 0);
  return outs;
};

const adamKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { p, g, m, v } = inputs as Record<"p" | "g" | "m" | "v", tf.TensorInfo>;
  const a = attrs as Record<"gradScale" | "beta1" | "beta2" | "stepSize" | "sqrtBc2" | "eps", number>;
  checkF32("adam", p, g, m, v);
  const outs = [output(backend, p.shape), output(backend, p.shape), output(backend, p.shape)];
  const h = (t: tf.TensorInfo) => heap(backend, t);
  (addon as NativeAddon).adam(h(p), h(g), h(m), h(v), h(outs[0]), h(outs[1]), h(outs[2]), a.gradScale, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.stepSize, a.sqrtBc2, a.eps);
  return outs;
};

const emaKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { shadow, p } = inputs as Record<"shadow" | "p", tf.TensorInfo>;
  checkF32("ema", shadow, p);
  const out = output(backend, shadow.shape);
  (addon as NativeAddon).ema(heap(backend, shadow), heap(backend, p), heap(backend, out), (attrs as { decay: number }).decay);
  return out;
};

const SAME = { strides: 1, pad: "same", dataFormat: "NHWC" } as const;

/** conv2dSame: x [B, H, W, Cin] * w [k, k, Cin, Cout] (+ b; attrs.bias says which), stride 1, 'same' padding. */
const conv2dSameKernel: KernelFunc = ({ inputs, backend }) => {
  const { x, w, b } = inputs as Record<"x" | "w" | "b", tf.TensorInfo>;
  checkF32("conv2dSame", x, w, ...(b ? [b] : []));
  const info = convInfo(x.shape, w.shape, SAME);
  const out = output(backend, info.outShape);
  (addon as NativeAddon).conv2d(heap(backend, x), heap(backend, w), heap(backend, out), b ? heap(backend, b) : null, 0, ...geometry(info));
  return out;
};

/** convFilterGrad: dW (and the bias gradient, attrs.bias) of conv2dSame in one oneDNN backward-weights pass. */
const convFilterGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Record<"x" | "dy", tf.TensorInfo>;
  const { filterShape, bias } = attrs as { filterShape: number[]; bias: boolean };
  checkF32("convFilterGrad", x, dy);
  const info = convInfo(x.shape, filterShape, SAME);
  const outs = [output(backend, filterShape)];
  if (bias) outs.push(output(backend, [filterShape[3]]));
  const h = (t: tf.TensorInfo) => heap(backend, t);
  (addon as NativeAddon).conv2dBackpropFilter(h(x), h(dy), h(outs[0]), bias ? h(outs[1]) : null, ...geometry(info), dataToken(dy));
  return outs;
};

/**
 * The bias gradient computed by conv2dSame's filter-gradient thunk, for its bias thunk, which tfjs calls next
 * (inputs are visited in order x, w, b). Kept across the thunks' tidies; a leftover (bias pruned, filter not) is
 * freed by the next one.
 */
let pendingBiasGrad: { dy: number; db: tf.Tensor } | undefined;

/** Σ x² over all inputs, summed in double on the heap, stored as a float32 scalar. */
const sumSquaresKernel: KernelFunc = ({ inputs, backend }) => {
  const ts = Object.values(inputs) as tf.TensorInfo[];
  checkF32("sumSquares", ...ts);
  let total = 0;
  for (const t of ts) total += (addon as NativeAddon).sumSquares(heap(backend, t));
  const out = output(backend, []);
  heap(backend, out)[0] = total;
  return out;
};

/**
 * Rows [sin(a_b f_k), cos(a_b f_k), 0…] with a_b = log(label_b) (attrs.log) or label_b, computed in double from the
 * float32 labels and frequencies; a repeated label (a sampler's whole batch) reuses the row above.
 */
const sinCosRowsKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { label, f } = inputs as Record<"label" | "f", tf.TensorInfo>;
  const { dim, log } = attrs as { dim: number; log: boolean };
  checkF32("sinCosRows", label, f);
  const labels = heap(backend, label);
  const args = new Float64Array(labels.length);
  for (let b = 0; b < labels.length; b++) args[b] = b > 0 && labels[b] === labels[b - 1] ? args[b - 1] : log ? Math.log(labels[b]) : labels[b];
  const out = output(backend, [labels.length, dim]);
  // The heap view is taken after the output is allocated (allocation may grow the heap and detach older views).
  (addon as NativeAddon).sinCosRows(args, Float64Array.from(heap(backend, f)), heap(backend, out), dim);
  return out;
};

const OWN_KERNELS: [string, KernelFunc][] = [
  [OWN.dense, denseKernel],
  [OWN.silu, siluKernel],
  [OWN.siluGrad, siluGradKernel],
  [OWN.groupNorm, groupNormKernel],
  [OWN.groupNormGrad, groupNormGradKernel],
  [OWN.adam, adamKernel],
  [OWN.ema, emaKernel],
  [OWN.conv2dSame, conv2dSameKernel],
  [OWN.convFilterGrad, convFilterGradKernel],
  [OWN.sumSquares, sumSquaresKernel],
  [OWN.sinCosRows, sinCosRowsKernel],
];

type GradFn = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Record<string, () => tf.Tensor>;

const OWN_GRADIENTS: { kernelName: string; inputsToSave?: string[]; outputsToSave?: boolean[]; gradFunc: GradFn }[] = [
  {
    kernelName: OWN.dense,
    inputsToSave: ["x", "w"],
    gradFunc: (dy, [x, w]) => {
      const d = dy as tf.Tensor2D;
      return {
        x: () => tf.matMul(d, w, false, true),
        w: () => tf.matMul(x, d, true, false),
        // Column sums by this module's Sum kernel (sum_mid, one op). A product with a row of ones, as before,
        // cost three ops and a fresh ones array per layer: MLP w128 train step 4.3-4.7 -> 4.1-4.5 ms (p10).
        b: () => tf.sum(d, 0),
      };
    },
  },
  {
    kernelName: OWN.silu,
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => tf.engine().runKernel(OWN.siluGrad, { dy: dy as tf.Tensor, x }) as tf.Tensor }),
  },
  {
    kernelName: OWN.conv2dSame,
    inputsToSave: ["x", "w"],
    gradFunc: (dy, [x, w], attrs) => {
      const d = dy as tf.Tensor;
      const e = tf.engine();
      const bias = Boolean(attrs.bias);
      return {
        x: () => e.runKernel("Conv2DBackpropInput", { dy: d, filter: w }, { ...SAME, inputShape: x.shape }) as tf.Tensor,
        w: () => {
          // With a bias, its gradient comes from the same pass (computed whether or not tfjs asks for it next).
          const [dw, db] = e.runKernel(OWN.convFilterGrad, { x, dy: d }, { filterShape: w.shape, bias }) as tf.Tensor[];
          pendingBiasGrad?.db.dispose();
          pendingBiasGrad = db ? { dy: d.id, db: tf.keep(db) } : undefined;
          return dw;
        },
        b: () => {
          // This convolution's own bias gradient (matched by its dy), unless its filter gradient was pruned.
          const db = pendingBiasGrad?.dy === d.id ? pendingBiasGrad.db : undefined;
          if (!db) return tf.sum(d, [0, 1, 2]);
          pendingBiasGrad = undefined;
          // A clone (shared data, see identityKernel) belongs to this tidy's scope like any result; the kept
          // original would outlive every enclosing tidy.
          const out = db.clone();
          db.dispose();
          return out;
        },
      };
    },
  },
  {
    kernelName: OWN.groupNorm,
    inputsToSave: ["x", "gamma", "beta"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, [x, gamma, beta, mean, rstd], attrs) => {
      // mean and rstd are statistics saved for this gradient, not outputs anyone differentiates (their incoming
      // gradients are ignored). All three gradients are computed here, at once, not in the thunks: the kernel
      // gets them from one pass (three separate passes cost 3× in the MNIST train step), and tfjs calls this
      // function inside its backward tidy, so a gradient whose input was pruned (γ and β when only dx is asked
      // for) is freed when the backward pass ends. The thunks return the tensors themselves (no copy).
      const inputs = { dy: (dys as tf.Tensor[])[0], x, gamma, beta, mean, rstd };
      const [dx, dgamma, dbeta] = tf.engine().runKernel(OWN.groupNormGrad, inputs, { groups: attrs.groups, silu: attrs.silu }) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  },
];

/**
 * Identity (tensor.clone(), and the copy tfjs makes of every tensor saved for a gradient) shares the data and
 * counts a reference, as wasm's own Reshape does, instead of copying it: tensors are immutable and no kernel
 * here or in tfjs-backend-wasm writes into its inputs. Measured: 9 copies of [512, 128] per MLP train step,
 * 0.68 ms of 6.5 ms of kernel time.
 */
const identityKernel: KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === "string") return fallback("Identity", args);
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Concat of float32 tensors along any axis, as [rows, inner_i] blocks copied in C (wasm's kernel copies row by row
 * from JavaScript: 13 ms for the U-Net's [64, 28, 28, 16] skip connections). Empty inputs, other dtypes: wasm's.
 */
const concatKernel: KernelFunc = (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const axis = tf.util.parseAxisParam((args.attrs as { axis: number | number[] }).axis, inputs[0].shape)[0];
  if (inputs.length < 2 || inputs.length > 64 || inputs.some((t) => t.dtype !== "float32" || size(t.shape) === 0)) return fallback("Concat", args);
  tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const rows = size(outShape.slice(0, axis));
  const inner = Int32Array.from(inputs, (t) => size(t.shape.slice(axis)));
  const out = output(args.backend, outShape);
  (addon as NativeAddon).concatRows(heap(args.backend, out), inputs.map((t) => heap(args.backend, t)), inner, rows);
  return out;
};

/** SplitV (the gradient of Concat) along any axis, the inverse block copy. */
const splitVKernel: KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  if (x.dtype !== "float32" || sizes.length > 64 || sizes.some((n) => n <= 0) || size(x.shape) === 0) return fallback("SplitV", args);
  const outs = sizes.map((n) => output(args.backend, x.shape.map((d, i) => (i === ax ? n : d))));
  const rows = size(x.shape.slice(0, ax));
  const inner = Int32Array.from(outs, (t) => size(t.shape.slice(ax)));
  // Views taken after every output is allocated (an allocation may grow the heap and detach older views).
  (addon as NativeAddon).splitRows(heap(args.backend, x), outs.map((t) => heap(args.backend, t)), inner, rows);
  return outs;
};

/**
 * How b broadcasts against the output shape, as the addon's [outer, mid, inner] view (see binary_bcast in
 * elementwise.c): trailing axes where b matches the output (inner), then axes where b has 1 (mid), then leading
 * axes where b matches again (outer, b_outer). Undefined for any other pattern (the wasm kernel runs it).
 */
function broadcastPlan(out: number[], bShape: number[]): { outer: number; mid: number; inner: number; bOuter: boolean } | undefined {
  const b = [...new Array<number>(out.length - bShape.length).fill(1), ...bShape];
  let k = out.length;
  let inner = 1;
  while (k > 0 && b[k - 1] === out[k - 1]) inner *= out[--k];
  let mid = 1;
  while (k > 0 && b[k - 1] === 1) mid *= out[--k];
  let outer = 1;
  while (k > 0 && b[k - 1] === out[k - 1]) outer *= out[--k];
  if (k > 0) return undefined;
  // A scalar-like b (every axis 1) is the scalar case: inner 1 without an outer axis.
  if (inner === 1 && outer > 1) return undefined;
  return { outer, mid, inner, bOuter: outer > 1 };
}

/** Add / Multiply of float32 tensors (commutative: either side may be the broadcast one). */
function binaryKernel(name: "Add" | "Multiply", op: number): KernelFunc {
  return (args) => {
    let a = args.inputs.a as tf.TensorInfo;
    let b = args.inputs.b as tf.TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32") return fallback(name, args);
    let out: number[];
    try {
      out = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return fallback(name, args); // incompatible shapes: the wasm kernel throws tfjs' own error
    }
    const same = (s: number[]) => s.length === out.length && s.every((d, i) => d === out[i]);
    if (!same(a.shape)) [a, b] = [b, a];
    const plan = same(a.shape) ? broadcastPlan(out, b.shape) : undefined;
    if (!plan || size(out) === 0) return fallback(name, args);
    const o = output(args.backend, out);
    (addon as NativeAddon).binary(heap(args.backend, a), heap(args.backend, b), heap(args.backend, o), op, plan.outer, plan.mid, plan.inner, plan.bOuter ? 1 : 0);
    return o;
  };
}

/**
 * ResizeNearestNeighbor by power-of-two factors without corner alignment or half-pixel centres (the U-Net's 2×
 * upsampling): output (i, j) reads input (i / f, j / f) exactly. Other resizes: the wasm kernel.
 */
const resizeNearestKernel: KernelFunc = (args) => {
  const x = args.inputs.images as tf.TensorInfo;
  const { alignCorners, halfPixelCenters, size: hw } = args.attrs as { alignCorners: boolean; halfPixelCenters: boolean; size: [number, number] };
  const pow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
  if (x.dtype !== "float32" || x.shape.length !== 4 || alignCorners || halfPixelCenters || size(x.shape) === 0) return fallback("ResizeNearestNeighbor", args);
  const [b, h, w, c] = x.shape;
  const [fh, fw] = [hw[0] / h, hw[1] / w];
  if (!pow2(fh) || !pow2(fw)) return fallback("ResizeNearestNeighbor", args);
  const o = output(args.backend, [b, hw[0], hw[1], c]);
  (addon as NativeAddon).upsampleNearest(heap(args.backend, x), heap(args.backend, o), b, h, w, c, fh, fw);
  return o;
};

/**
 * Sum of a float32 tensor over axes that form one contiguous run (x seen as [outer, mid, inner], mid reduced):
 * the per-image bias gradient over H, W, a softmax gradient's last axis, a total. Summed in double (wasm sums
 * in float). Other axis sets, dtypes and empty tensors: the wasm kernel.
 */
const sumKernel: KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== "float32" || size(x.shape) === 0) return fallback("Sum", args);
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  if (axes.length === 0 || axes.some((a, i) => a !== axes[0] + i)) return fallback("Sum", args);
  const [first, last] = [axes[0], axes[axes.length - 1]];
  const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
  const o = output(args.backend, outShape);
  (addon as NativeAddon).sumMid(heap(args.backend, x), heap(args.backend, o), size(x.shape.slice(0, first)), size(x.shape.slice(first, last + 1)), size(x.shape.slice(last + 1)));
  return o;
};

/**
 * AvgPool with a 2×2 window, stride 2 and 'valid' padding on even H, W (the U-Net's downsampling and the gradient
 * of its upsampling), NHWC float32: split over the threads (wasm's kernel runs on one). Other pools: wasm's.
 */
const avgPoolKernel: KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const { filterSize, strides, pad } = args.attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown };
  const two = (v: number | [number, number]) => (Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2);
  if (x.dtype !== "float32" || x.shape.length !== 4 || !two(filterSize) || !two(strides) || pad !== "valid" || size(x.shape) === 0) {
    return fallback("AvgPool", args);
  }
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) return fallback("AvgPool", args);
  const o = output(args.backend, [b, h / 2, w / 2, c]);
  (addon as NativeAddon).avgPool2(heap(args.backend, x), heap(args.backend, o), b, h, w, c);
  return o;
};

/**
 * Transpose of the last two axes (perm [0, …, r−3, r−1, r−2]: attention's kᵀ and the gradients of its products)
 * of a float32 tensor, matrix by matrix over the threads. Other permutations and dtypes: wasm's.
 */
const transposeKernel: KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const perm = (args.attrs as { perm: number[] }).perm;
  const r = x.shape.length;
  const lastTwo = r >= 2 && perm.length === r && perm.every((p, i) => p === (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2));
  if (x.dtype !== "float32" || !lastTwo || size(x.shape) === 0) return fallback("Transpose", args);
  const [rows, cols] = x.shape.slice(r - 2);
  const o = output(args.backend, [...x.shape.slice(0, r - 2), cols, rows]);
  (addon as NativeAddon).transposeLast2(heap(args.backend, x), heap(args.backend, o), size(x.shape.slice(0, r - 2)), rows, cols);
  return o;
};

const IMPLEMENTATIONS: Record<(typeof STOCK)[number], KernelFunc> = {
  AvgPool: avgPoolKernel,
  Transpose: transposeKernel,
  Add: binaryKernel("Add", 0),
  Multiply: binaryKernel("Multiply", 1),
  ResizeNearestNeighbor: resizeNearestKernel,
  Sum: sumKernel,
  BatchMatMul: matMulKernel("BatchMatMul"),
  _FusedMatMul: fusedMatMul,
  Conv2D: convKernel("Conv2D"),
  FusedConv2D: convKernel("FusedConv2D"),
  Conv2DBackpropInput: convGradKernel("input"),
  Conv2DBackpropFilter: convGradKernel("filter"),
  Identity: identityKernel,
  Concat: concatKernel,
  SplitV: splitVKernel,
};

/**
 * Replaces the wasm backend's matMul and convolution kernels with the native ones, process-wide. Call after the
 * wasm backend is active (initBackend does). Returns false, changing nothing, when the addon is unavailable or the
 * active backend is not wasm; `nativeKernelsUnavailableReason()` then says why. Idempotent.
 *
 * `threads`: the addon's threads (default 1, like the single-threaded wasm build): one OpenMP pool, used by
 * oneDNN's convolutions and products and by the fused kernels.
 */
export function installNativeKernels(threads = 1): boolean {
  const lib = loadAddon(threads);
  if (!lib || tf.getBackend() !== "wasm") return false;
  lib.setThreads(threads);
  if (installed) return true;
  for (const name of STOCK) {
    const existing = tf.getKernel(name, "wasm");
    wasmKernels.set(name, existing?.kernelFunc as KernelFunc | undefined);
    if (existing) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: IMPLEMENTATIONS[name] as tf.KernelFunc });
  }
  for (const [name, kernelFunc] of OWN_KERNELS) {
    if (!tf.getKernel(name, "wasm")) tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
  }
  for (const g of OWN_GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g as unknown as tf.GradConfig);
  installed = true;
  return true;
}

/** Puts the wasm kernels back (and unregisters the convolution gradients wasm never had). */
export function uninstallNativeKernels(): void {
  if (!installed) return;
  for (const name of STOCK) {
    tf.unregisterKernel(name, "wasm");
    const k = wasmKernels.get(name);
    if (k) tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: k as tf.KernelFunc });
  }
  for (const [name] of OWN_KERNELS) tf.unregisterKernel(name, "wasm"); // their gradients stay: harmless without kernels
  wasmKernels.clear();
  installed = false;
}
