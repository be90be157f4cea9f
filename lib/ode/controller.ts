/**
 * The step-size controller of scipy's `solve_ivp` RK methods, separate from any tableau: an integral controller on
 * the RMS error norm with safety 0.9, growth ≤ 10 after an accepted step (none right after a rejection), shrink ≥
 * 0.2 after a rejected one, exponent −1/(q + 1) for an error estimate of order q; and the initial step of
 * `select_initial_step` (Hairer, Nørsett & Wanner, "Solving ODEs I", §II.4).
 */
export const SAFETY = 0.9;
export const MIN_FACTOR = 0.2;
export const MAX_FACTOR = 10;

/** RMS norm of v ./ scale (scipy's `norm(x) = ‖x‖₂ / √n`). */
export function rmsRatio(v: Float64Array, scale: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const r = v[i] / scale[i];
    s += r * r;
  }
  return v.length === 0 ? 0 : Math.sqrt(s / v.length);
}

export class StepController {
  private readonly exponent: number;

  constructor(readonly errorOrder: number) {
    this.exponent = -1 / (errorOrder + 1);
  }

  /** The factor for |h| after an accepted step with this error norm (< 1). */
  accepted(errorNorm: number, rejectedBefore: boolean): number {
    const factor = errorNorm === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * errorNorm ** this.exponent);
    return rejectedBefore ? Math.min(1, factor) : factor;
  }

  /** The factor for |h| after a rejected step (norm ≥ 1, or not finite: scipy's max(0.2, nan) is 0.2). */
  rejected(errorNorm: number): number {
    return Number.isFinite(errorNorm) ? Math.max(MIN_FACTOR, SAFETY * errorNorm ** this.exponent) : MIN_FACTOR;
  }

  /**
   * scipy's `select_initial_step` from the norms d0 = ‖y0‖, d1 = ‖f0‖ (scaled), the probe step h0 and
   * d2 = ‖f(t0 + h0, y0 + h0 f0) − f0‖ / h0; clamped to the interval and maxStep (scipy ≥ 1.12).
   */
  probeStep(d0: number, d1: number, interval: number): number {
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    return Math.min(h0, interval);
  }

  initialStep(h0: number, d1: number, d2: number, interval: number, maxStep: number): number {
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / (this.errorOrder + 1));
    const h = Math.min(100 * h0, h1, interval, maxStep);
    // d2 may be NaN when the probe evaluation is not finite; fall back to a tiny step and let step control grow it.
    return !Number.isFinite(h) || h <= 0 ? Math.min(1e-6, interval) : h;
  }
}
