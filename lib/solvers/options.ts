/** Solver option parsing: unknown keys are refused (a typo'd `eta` must not silently run η = 0). */
import { fail, fmt } from "../validate";

export interface NumberOption {
  default: number;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Allow Infinity as a value (EDM's S_tmax). */
  allowInfinity?: boolean;
}

export interface BooleanOption {
  boolean: true;
  default: boolean;
}

export function readOptions<K extends string>(
  where: string,
  options: Record<string, unknown>,
  spec: Record<K, NumberOption | BooleanOption | readonly string[]>,
): Record<K, number | string | boolean> {
  const keys = Object.keys(spec) as K[];
  for (const k of Object.keys(options)) {
    if (!keys.includes(k as K)) fail(where, "options", k, keys.length ? `one of ${keys.map((n) => fmt(n)).join(", ")}` : "none (this solver has no options)");
  }
  const out = {} as Record<K, number | string | boolean>;
  for (const k of keys) {
    const s = spec[k];
    const v = options[k];
    if (Array.isArray(s)) {
      const val = v === undefined ? s[0] : v;
      if (typeof val !== "string" || !s.includes(val)) fail(where, `options.${k}`, val, `one of ${s.map((n) => fmt(n)).join(", ")}`);
      out[k] = val;
      continue;
    }
    if ("boolean" in s) {
      const val = v === undefined ? s.default : v;
      if (typeof val !== "boolean") fail(where, `options.${k}`, val, "true or false");
      out[k] = val;
      continue;
    }
    const n = s as NumberOption;
    const val = v === undefined ? n.default : v;
    const finiteOk = typeof val === "number" && (Number.isFinite(val) || (n.allowInfinity && val === Infinity));
    if (!finiteOk || (n.min !== undefined && (val as number) < n.min) || (n.max !== undefined && (val as number) > n.max)) {
      fail(where, `options.${k}`, val, `a number in [${n.min ?? "−∞"}, ${n.max ?? "∞"}]`);
    }
    out[k] = val as number;
  }
  return out;
}
