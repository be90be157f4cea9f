/**
 * Sample-only 2-D toys (no closed-form score): the usual benchmark shapes of the score-matching / flow literature,
 * scaled so the data lie roughly in [−4, 4]². Each draws only host arrays from the Rng, in the order documented on
 * its class, so a seed gives the same points on every backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkNonNegative, checkPositive, checkPositiveInt, fail } from "../validate";
import type { ToyDistribution } from "./types";

function toTensor(xy: Float64Array, n: number): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(xy), [n, 2], "float32");
}

export interface TwoMoonsOptions {
  /** Std of the isotropic Gaussian noise, in output units (default 0.1). */
  noise?: number;
  /** Scale applied after centring the unit moons (default 2: data in ≈ [−3, 3] × [−1.6, 1.6]). */
  scale?: number;
}

/**
 * Two interleaved half circles of radius 1 (as scikit-learn's make_moons): the upper one centred at (0, 0), the lower
 * one at (1, 0.5); shifted by (−0.5, −0.25) to centre them, times `scale`, plus noise.
 * Draws: n uniforms (which moon), n uniforms (angle θ ∈ [0, π]), 2n normals (noise).
 */
export class TwoMoons implements ToyDistribution {
  readonly name = "twoMoons";
  readonly dim = 2;
  readonly noise: number;
  readonly scale: number;
  constructor(opts: TwoMoonsOptions = {}) {
    this.noise = checkNonNegative("twoMoons", "noise", opts.noise ?? 0.1);
    this.scale = checkPositive("twoMoons", "scale", opts.scale ?? 2);
  }
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt("twoMoons.sample", "n", n);
    const which = rng.uniformArray(n);
    const u = rng.uniformArray(n);
    const z = rng.normalArray(2 * n);
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const th = Math.PI * u[i];
      const upper = which[i] < 0.5;
      const x = upper ? Math.cos(th) : 1 - Math.cos(th);
      const y = upper ? Math.sin(th) : 0.5 - Math.sin(th);
      out[2 * i] = (x - 0.5) * this.scale + this.noise * z[2 * i];
      out[2 * i + 1] = (y - 0.25) * this.scale + this.noise * z[2 * i + 1];
    }
    return toTensor(out, n);
  }
}

export interface SwissRollOptions {
  /** Std of the isotropic Gaussian noise, in output units (default 0.1). */
  noise?: number;
  /** Scale of the roll (default 1/5: the outer turn reaches radius 4.5π/5 ≈ 2.83). */
  scale?: number;
}

/**
 * The 2-D swiss roll (scikit-learn's make_swiss_roll, x–z plane): τ = 1.5π (1 + 2u), point τ (cos τ, sin τ) · scale,
 * plus noise. Draws: n uniforms (u), 2n normals (noise).
 */
export class SwissRoll implements ToyDistribution {
  readonly name = "swissRoll";
  readonly dim = 2;
  readonly noise: number;
  readonly scale: number;
  constructor(opts: SwissRollOptions = {}) {
    this.noise = checkNonNegative("swissRoll", "noise", opts.noise ?? 0.1);
    this.scale = checkPositive("swissRoll", "scale", opts.scale ?? 0.2);
  }
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt("swissRoll.sample", "n", n);
    const u = rng.uniformArray(n);
    const z = rng.normalArray(2 * n);
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const tau = 1.5 * Math.PI * (1 + 2 * u[i]);
      out[2 * i] = tau * Math.cos(tau) * this.scale + this.noise * z[2 * i];
      out[2 * i + 1] = tau * Math.sin(tau) * this.scale + this.noise * z[2 * i + 1];
    }
    return toTensor(out, n);
  }
}

export interface CheckerboardOptions {
  /** Squares per side (even, default 4); the board spans [−size, size]². */
  squares?: number;
  /** Half the side of the board (default 4). */
  size?: number;
}

/**
 * Uniform on the "black" squares of a checkerboard over [−size, size]² (those whose integer cell indices (i, j)
 * have an even sum i + j): half the squares, density 2 / (2·size)² on them, 0 elsewhere. The default is the
 * FFJORD board (4 × 4 squares of side 2). Draws: 2n uniforms (position within the black set).
 */
export class Checkerboard implements ToyDistribution {
  readonly name = "checkerboard";
  readonly dim = 2;
  readonly squares: number;
  readonly size: number;
  constructor(opts: CheckerboardOptions = {}) {
    this.squares = checkPositiveInt("checkerboard", "squares", opts.squares ?? 4);
    if (this.squares % 2 !== 0) fail("checkerboard", "squares", this.squares, "an even positive integer");
    this.size = checkPositive("checkerboard", "size", opts.size ?? 4);
  }
  /** Side of one square. */
  get cell(): number {
    return (2 * this.size) / this.squares;
  }
  /** Exact density at a host point: 2/(2 size)² on black squares, else 0. */
  density(x: number, y: number): number {
    const c = this.cell;
    const i = Math.floor((x + this.size) / c);
    const j = Math.floor((y + this.size) / c);
    if (i < 0 || j < 0 || i >= this.squares || j >= this.squares) return 0;
    return (i + j) % 2 === 0 ? 2 / (4 * this.size * this.size) : 0;
  }
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt("checkerboard.sample", "n", n);
    const u = rng.uniformArray(2 * n);
    const out = new Float64Array(2 * n);
    const m = this.squares;
    const c = this.cell;
    for (let p = 0; p < n; p++) {
      // x uniform on the board; y uniform within the m/2 black cells of x's column (row parity fixed by the column).
      const gx = u[2 * p] * m;
      const i = Math.min(Math.floor(gx), m - 1);
      const gy = u[2 * p + 1] * (m / 2);
      const r = Math.min(Math.floor(gy), m / 2 - 1);
      const j = 2 * r + (i % 2);
      out[2 * p] = -this.size + gx * c;
      out[2 * p + 1] = -this.size + (j + (gy - r)) * c;
    }
    return toTensor(out, n);
  }
}

export interface RingsOptions {
  /** Ring radii (default [1, 2, 3]). */
  radii?: readonly number[];
  /** Std of the isotropic Gaussian noise (default 0.08). */
  noise?: number;
}

/**
 * Concentric circles; a ring is chosen with probability proportional to its radius (uniform density along the total
 * arc length), the angle uniformly, plus noise. Draws: n uniforms (ring), n uniforms (angle), 2n normals (noise).
 */
export class ConcentricRings implements ToyDistribution {
  readonly name = "rings";
  readonly dim = 2;
  readonly radii: readonly number[];
  readonly noise: number;
  constructor(opts: RingsOptions = {}) {
    const radii = opts.radii ?? [1, 2, 3];
    if (!Array.isArray(radii) || radii.length === 0) fail("rings", "radii", radii, "a non-empty array of positive numbers");
    radii.forEach((r, k) => checkPositive("rings", `radii[${k}]`, r));
    this.radii = radii.slice();
    this.noise = checkNonNegative("rings", "noise", opts.noise ?? 0.08);
  }
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt("rings.sample", "n", n);
    const which = rng.uniformArray(n);
    const u = rng.uniformArray(n);
    const z = rng.normalArray(2 * n);
    const total = this.radii.reduce((a, b) => a + b, 0);
    const out = new Float64Array(2 * n);
    for (let p = 0; p < n; p++) {
      let k = 0;
      let acc = this.radii[0];
      while (k < this.radii.length - 1 && which[p] * total >= acc) acc += this.radii[++k];
      const th = 2 * Math.PI * u[p];
      out[2 * p] = this.radii[k] * Math.cos(th) + this.noise * z[2 * p];
      out[2 * p + 1] = this.radii[k] * Math.sin(th) + this.noise * z[2 * p + 1];
    }
    return toTensor(out, n);
  }
}

export interface PinwheelOptions {
  /** Number of arms (default 5). */
  arms?: number;
  /** Radial std before the twist (default 0.3). */
  radialStd?: number;
  /** Tangential std (default 0.1). */
  tangentialStd?: number;
  /** Twist rate: arm angle grows by rate·exp(radius) (default 0.25). */
  rate?: number;
  /** Output scale (default 2: data within ≈ [−4, 4]²). */
  scale?: number;
}

/**
 * The pinwheel of Johnson et al. (2016), as in FFJORD: per point an arm a uniformly, (r, τ) = (1 + radialStd z₁,
 * tangentialStd z₂), rotated by 2π a/arms + rate·exp(r), times `scale`.
 * Draws: n uniforms (arm), 2n normals (z₁, z₂ per point).
 */
export class Pinwheel implements ToyDistribution {
  readonly name = "pinwheel";
  readonly dim = 2;
  readonly arms: number;
  readonly radialStd: number;
  readonly tangentialStd: number;
  readonly rate: number;
  readonly scale: number;
  constructor(opts: PinwheelOptions = {}) {
    this.arms = checkPositiveInt("pinwheel", "arms", opts.arms ?? 5);
    this.radialStd = checkNonNegative("pinwheel", "radialStd", opts.radialStd ?? 0.3);
    this.tangentialStd = checkNonNegative("pinwheel", "tangentialStd", opts.tangentialStd ?? 0.1);
    this.rate = checkNonNegative("pinwheel", "rate", opts.rate ?? 0.25);
    this.scale = checkPositive("pinwheel", "scale", opts.scale ?? 2);
  }
  sample(n: number, rng: Rng): tf.Tensor2D {
    checkPositiveInt("pinwheel.sample", "n", n);
    const which = rng.uniformArray(n);
    const z = rng.normalArray(2 * n);
    const out = new Float64Array(2 * n);
    for (let p = 0; p < n; p++) {
      const a = Math.min(Math.floor(which[p] * this.arms), this.arms - 1);
      const r = 1 + this.radialStd * z[2 * p];
      const tau = this.tangentialStd * z[2 * p + 1];
      const ang = (2 * Math.PI * a) / this.arms + this.rate * Math.exp(r);
      const c = Math.cos(ang);
      const s = Math.sin(ang);
      out[2 * p] = this.scale * (c * r - s * tau);
      out[2 * p + 1] = this.scale * (s * r + c * tau);
    }
    return toTensor(out, n);
  }
}

export const twoMoons = (opts?: TwoMoonsOptions): TwoMoons => new TwoMoons(opts);
export const swissRoll = (opts?: SwissRollOptions): SwissRoll => new SwissRoll(opts);
export const checkerboard = (opts?: CheckerboardOptions): Checkerboard => new Checkerboard(opts);
export const concentricRings = (opts?: RingsOptions): ConcentricRings => new ConcentricRings(opts);
export const pinwheel = (opts?: PinwheelOptions): Pinwheel => new Pinwheel(opts);
