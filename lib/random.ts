/**
 * Seeded random numbers. Every random draw in the library goes through an `Rng` passed in explicitly, so the same
 * seed gives the same numbers on every backend, and a run can be saved (`getState`) and resumed (`setState`).
 *
 * The generator is xoshiro128** (Blackman & Vigna), seeded through splitmix32; normals come from the Box–Muller
 * transform in float64, generated in pairs (the second of an odd count is dropped, so the state is just the four
 * words of the generator). `recordingRng` / `replayRng` record and replay the exact sequence of draws of a run.
 */
import * as tf from "@tensorflow/tfjs";

export interface RngState {
  readonly algorithm: "xoshiro128**";
  readonly s: readonly [number, number, number, number];
}

/** What kind of draw was made, in the order the library documents (e.g. per PC step: corrector, then predictor). */
export type DrawKind = "normal" | "uniform" | "rademacher";

export interface Rng {
  /** Standard normal float32 tensor. */
  normal(shape: readonly number[]): tf.Tensor;
  /** Uniform float32 tensor on [0, 1). */
  uniform(shape: readonly number[]): tf.Tensor;
  /** ±1 with probability ½ each (float32). */
  rademacher(shape: readonly number[]): tf.Tensor;
  /** Host arrays of the same draws, for code that works on plain numbers (toy samplers, categorical choices). */
  normalArray(n: number): Float64Array;
  uniformArray(n: number): Float64Array;
  getState(): RngState;
  setState(state: RngState): void;
}

function checkShape(shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw new Error(`shape must be an array of non-negative integers, got ${String(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`shape must be an array of non-negative integers, got [${shape.join(", ")}]`);
    }
    n *= d;
  }
  return n;
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a non-negative integer, got ${n}`);
}

/** splitmix32: spreads a seed over the four state words (never all zero). */
function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Xoshiro128 implements Rng {
  /**
   * The four state words, held as int32 (the same bits as the uint32 words of getState). Plain number fields took
   * both int32 and uint32 values (≥ 2^31 is not a small integer), so V8 kept them as boxed doubles and converted on
   * every draw.
   */
  private readonly s = new Int32Array(4);

  /**
   * A seed in [0, 2^32) fills the state with four splitmix32 outputs from the seed: mix(seed + k·φ), k = 1…4, where
   * mix is splitmix32's finaliser, a bijection of 32-bit words with mix(0) = 0. Any other safe integer
   * seed = hi·2^32 + lo (hi ≠ 0, |hi| ≤ 2^21) takes the same four words from lo and XORs words 2–4 with the
   * splitmix32 outputs from hi, mix(hi + k·φ), k = 1…3. No two seeds share a state: equal first words force equal lo;
   * the second word then differs from lo's own by mix(hi + φ), which is not zero (hi + φ ≢ 0 mod 2^32 for
   * |hi| ≤ 2^21) and determines hi. (An earlier version XORed hi·c into lo, so createRng(2^32) equalled
   * createRng(668265261).) Every seed in [0, 2^32) keeps the stream it always had.
   */
  constructor(seed: number) {
    const sm = splitmix32(seed >>> 0);
    const s = this.s;
    for (let k = 0; k < 4; k++) s[k] = sm();
    const hi = Math.floor(seed / 4294967296);
    if (hi !== 0) {
      const h = splitmix32(hi >>> 0);
      for (let k = 1; k < 4; k++) s[k] ^= h();
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
  private next(): number {
    const s = this.s;
    const s1 = s[1];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const s2 = s[2] ^ s[0];
    const s3 = s[3] ^ s1;
    s[1] = s1 ^ s2;
    s[0] ^= s3;
    s[2] = s2 ^ (s1 << 9);
    s[3] = rotl(s3, 11);
    return result;
  }

  /** Uniform double on [0, 1) with 53 random bits. */
  private nextDouble(): number {
    const a = this.next() >>> 5; // 27 bits
    const b = this.next() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  uniformArray(n: number): Float64Array {
    checkCount(n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextDouble();
    return out;
  }

  normalArray(n: number): Float64Array {
    checkCount(n);
    return this.fillNormal(new Float64Array(n));
  }

  /** Box–Muller pairs into `out` (a Float32Array rounds each double as Float32Array.from would). */
  private fillNormal<A extends Float32Array | Float64Array>(out: A): A {
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const u1 = 1 - this.nextDouble(); // (0, 1]: log is finite
      const u2 = this.nextDouble();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  normal(shape: readonly number[]): tf.Tensor {
    return tf.tensor(this.fillNormal(new Float32Array(checkShape(shape))), shape.slice(), "float32");
  }

  uniform(shape: readonly number[]): tf.Tensor {
    // Round down onto float32 so that a value just below 1 never rounds up to 1.
    const n = checkShape(shape);
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = Math.min(this.nextDouble(), 0.99999994);
    return tf.tensor(f, shape.slice(), "float32");
  }

  rademacher(shape: readonly number[]): tf.Tensor {
    const n = checkShape(shape);
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = this.next() & 1 ? 1 : -1;
    return tf.tensor(f, shape.slice(), "float32");
  }

  getState(): RngState {
    return { algorithm: "xoshiro128**", s: [this.s[0] >>> 0, this.s[1] >>> 0, this.s[2] >>> 0, this.s[3] >>> 0] };
  }

  setState(state: RngState): void {
    const s: unknown = state?.s;
    if (!state || state.algorithm !== "xoshiro128**" || !Array.isArray(s) || s.length !== 4) {
      throw new Error(`setState: not an xoshiro128** state: ${JSON.stringify(state)}`);
    }
    for (const w of s as number[]) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new Error(`setState: state words must be 32-bit unsigned integers, got ${JSON.stringify(state.s)}`);
      }
    }
    if (state.s.every((w) => w === 0)) throw new Error("setState: the all-zero state is not allowed");
    this.s.set(s as number[]);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A new generator from an integer seed. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  return new Xoshiro128(seed);
}

/** One recorded draw: its kind, shape and values (row-major). */
export interface Draw {
  kind: DrawKind;
  shape: number[];
  values: number[];
}

/** Wraps a generator and records every tensor draw, in order. */
export function recordingRng(inner: Rng): Rng & { readonly draws: Draw[] } {
  const draws: Draw[] = [];
  const rec =
    (kind: DrawKind) =>
    (shape: readonly number[]): tf.Tensor => {
      const t = inner[kind](shape);
      draws.push({ kind, shape: shape.slice(), values: Array.from(t.dataSync()) });
      return t;
    };
  return {
    draws,
    normal: rec("normal"),
    uniform: rec("uniform"),
    rademacher: rec("rademacher"),
    normalArray: (n) => inner.normalArray(n),
    uniformArray: (n) => inner.uniformArray(n),
    getState: () => inner.getState(),
    setState: (s) => inner.setState(s),
  };
}

/**
 * Replays a given sequence of tensor draws (e.g. the fixed noise arrays of the official reference vectors).
 * A draw of another kind or shape than the next recorded one is an error, so a sampler that draws in a different
 * order than documented is caught. Host-array draws are not replayable and throw.
 */
export function replayRng(draws: readonly Draw[]): Rng & { readonly remaining: number } {
  let i = 0;
  const take =
    (kind: DrawKind) =>
    (shape: readonly number[]): tf.Tensor => {
      const n = checkShape(shape);
      if (i >= draws.length) throw new Error(`replayRng: draw #${i + 1} (${kind} [${shape}]) asked, only ${draws.length} recorded`);
      const d = draws[i];
      if (d.kind !== kind || d.values.length !== n) {
        throw new Error(
          `replayRng: draw #${i + 1} asked for ${kind} [${shape.join(", ")}], recorded ${d.kind} [${d.shape.join(", ")}]`,
        );
      }
      i++;
      return tf.tensor(d.values, shape.slice(), "float32");
    };
  const noHost = (): never => {
    throw new Error("replayRng replays tensor draws only (normal, uniform, rademacher)");
  };
  return {
    get remaining() {
      return draws.length - i;
    },
    normal: take("normal"),
    uniform: take("uniform"),
    rademacher: take("rademacher"),
    normalArray: noHost,
    uniformArray: noHost,
    getState: () => ({ algorithm: "xoshiro128**", s: [i + 1, 0, 0, 0] }),
    setState: (s: RngState) => {
      i = s.s[0] - 1;
    },
  };
}
