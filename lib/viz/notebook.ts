/**
 * Notebook run modes. Every notebook has two sizes: quick (CI, `npm test`, `SCORE_SDE_QUICK=1`) shrinks step and
 * sample counts so the whole notebook runs in seconds on 2 cores; full (the default) reproduces the real results.
 * Notebooks read the mode only through these helpers so that the headless runner, the exported tests and an
 * interactive session agree.
 */

/** True when SCORE_SDE_QUICK is set to 1/true/yes (read on every call: a kernel may change it with process.env). */
export function isQuick(): boolean {
  const v = (process.env.SCORE_SDE_QUICK ?? "").trim().toLowerCase();
  return v === "1" || v === "true" || v === "yes";
}

/** `quick` in quick mode, else `full`: `const nSamples = quickOr(500, 20_000)`. */
export function quickOr<T>(quick: T, full: T): T {
  return isQuick() ? quick : full;
}

/** True inside a tslab Jupyter kernel (its executor defines `globalThis.__tslab__`). */
export function inKernel(): boolean {
  return typeof (globalThis as { __tslab__?: unknown }).__tslab__ === "object";
}
