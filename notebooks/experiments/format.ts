/** Number formatting for the ablation tables (CSV/JSON cells and "mean ± std" strings). */

/** "m ± s" with `digits` significant digits on the mean and the same decimal places on s. */
export function pm(m: number, s: number, digits = 3): string {
  if (!Number.isFinite(m)) return String(m);
  const mag = m === 0 ? 0 : Math.floor(Math.log10(Math.abs(m)));
  const dec = Math.max(0, digits - 1 - mag);
  return `${m.toFixed(dec)} ± ${s.toFixed(dec)}`;
}

/** Rounds to `digits` significant digits (for CSV/JSON output that stays readable). */
export function sig(v: number, digits = 4): number {
  return Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(digits)) : v;
}
