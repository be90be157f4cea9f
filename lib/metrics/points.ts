/** Point clouds on the host: metrics read tensors once and then work in float64 loops (they are not in hot paths). */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkPositiveInt, fail } from "../validate";

/** A set of n points in d dimensions: an [n, d] tensor, an array of n rows, or a row-major host array with its dim. */
export type Points = tf.Tensor | readonly (readonly number[])[] | { data: ArrayLike<number>; dim: number };

/** Row-major float64 copy of a point set. */
export interface HostPoints {
  data: Float64Array;
  n: number;
  dim: number;
}

/** Converts and checks a point set: at least one point, finite values. */
export function toHostPoints(where: string, name: string, p: Points): HostPoints {
  let data: Float64Array;
  let dim: number;
  if (p instanceof tf.Tensor) {
    if (p.rank !== 2) fail(where, `${name}.shape`, p.shape, "[n, d]");
    dim = p.shape[1] as number;
    data = Float64Array.from(p.dataSync());
  } else if (Array.isArray(p)) {
    const rows = p as readonly (readonly number[])[];
    if (rows.length === 0 || !Array.isArray(rows[0])) fail(where, name, p, "a non-empty array of points (rows of numbers)");
    dim = rows[0].length;
    data = new Float64Array(rows.length * dim);
    rows.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== dim) fail(where, `${name}[${i}]`, r, `a point with ${dim} coordinates (as ${name}[0])`);
      for (let j = 0; j < dim; j++) data[i * dim + j] = r[j];
    });
  } else if (p !== null && typeof p === "object" && "data" in p && "dim" in p) {
    dim = checkPositiveInt(where, `${name}.dim`, p.dim);
    if (p.data.length % dim !== 0) fail(where, `${name}.data.length`, p.data.length, `a multiple of dim = ${dim}`);
    data = Float64Array.from(p.data);
  } else {
    return fail(where, name, p, "an [n, d] tensor, an array of points, or {data, dim}");
  }
  const n = dim > 0 ? data.length / dim : 0;
  if (n === 0 || dim === 0) fail(where, `${name}.shape`, [n, dim], "at least one point with at least one coordinate");
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail(where, `${name}[${Math.floor(i / dim)}][${i % dim}]`, data[i], "a finite number");
  }
  return { data, n, dim };
}

/** m points drawn without replacement (partial Fisher–Yates with rng.uniformArray), or p itself if m ≥ n. */
export function subsamplePoints(p: HostPoints, m: number, rng: Rng): HostPoints {
  if (m >= p.n) return p;
  const idx = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) idx[i] = i;
  const u = rng.uniformArray(m);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(u[i] * (p.n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  const out = new Float64Array(m * p.dim);
  for (let i = 0; i < m; i++) for (let k = 0; k < p.dim; k++) out[i * p.dim + k] = p.data[idx[i] * p.dim + k];
  return { data: out, n: m, dim: p.dim };
}
