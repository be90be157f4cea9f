/**
 * Input checks with messages that name the parameter, the value and what is allowed. Bad input must fail loudly
 * here rather than become a NaN (or a hang) ten calls later.
 */
import * as tf from "@tensorflow/tfjs";

export function fmt(v: unknown): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(fmt).join(", ")}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function fail(where: string, name: string, value: unknown, allowed: string): never {
  throw new RangeError(`${where}: ${name} = ${fmt(value)} is not allowed; ${name} must be ${allowed}`);
}

export function checkFinite(where: string, name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(where, name, v, "a finite number");
  return v;
}

export function checkPositive(where: string, name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(where, name, v, "a finite number > 0");
  return v;
}

export function checkNonNegative(where: string, name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) fail(where, name, v, "a finite number ≥ 0");
  return v;
}

export function checkPositiveInt(where: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) fail(where, name, v, "a positive integer");
  return v;
}

export function checkNonNegativeInt(where: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) fail(where, name, v, "a non-negative integer");
  return v;
}

export function checkOneOf<T extends string>(where: string, name: string, v: T, allowed: readonly T[]): T {
  if (!allowed.includes(v)) fail(where, name, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  return v;
}

/** Throws if a tensor holds NaN or ±Infinity (reads the tensor: use at entry points, not in hot loops). */
export function checkTensorFinite(where: string, name: string, x: tf.Tensor): void {
  const v = x.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new RangeError(`${where}: ${name} contains ${fmt(v[i])} at flat index ${i} (shape [${x.shape}]); data must be finite`);
    }
  }
}

/** Throws unless `x` has a batch dimension (rank ≥ 2: [B, ...dims]). */
export function checkBatched(where: string, name: string, x: tf.Tensor): void {
  if (x.rank < 2) fail(where, `${name}.shape`, x.shape, "[B, ...dims] with at least one data dimension");
}
