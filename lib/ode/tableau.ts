/**
 * Embedded explicit Runge–Kutta pairs as data (diffrax style: a solver is a tableau plus metadata; the adaptive
 * driver in ./rk45.ts and the step-size rules in ./controller.ts are shared). Each pair here is FSAL ("first same as
 * last"): its propagated solution is Σ b_j K_j over the `c.length` stages, and the error weights `e` run over those
 * stages plus one more, f(t + h, y_new), which is the first stage of the next step — so an attempted step costs
 * `c.length` evaluations.
 */
export interface EmbeddedTableau {
  /** scipy's method name. */
  readonly name: string;
  /** Stage nodes c_j (c_0 = 0). */
  readonly c: readonly number[];
  /** Lower-triangular stage coefficients: row s holds a_{s,0..s−1}. */
  readonly a: readonly (readonly number[])[];
  /** Weights of the propagated solution, one per stage. */
  readonly b: readonly number[];
  /** Error weights b − b̂ (sign irrelevant), one per stage plus the FSAL stage. */
  readonly e: readonly number[];
  /** Order of the propagated solution. */
  readonly order: number;
  /** Order of the embedded error estimate; step sizes scale with err^(−1/(errorOrder + 1)). */
  readonly errorOrder: number;
}

/** Checks a tableau's shape (stages, rows, weights) once, so a typo'd table fails before it integrates. */
export function checkTableau(t: EmbeddedTableau): EmbeddedTableau {
  const s = t.c.length;
  const bad = (what: string) => {
    throw new RangeError(`tableau ${t.name}: ${what}`);
  };
  if (s < 1 || t.c[0] !== 0) bad("c must start with 0");
  if (t.a.length !== s || t.a.some((row, i) => row.length !== i)) bad(`a must have ${s} rows, row i holding i coefficients`);
  if (t.b.length !== s) bad(`b must have ${s} weights`);
  if (t.e.length !== s + 1) bad(`e must have ${s + 1} weights (the stages and the FSAL stage)`);
  const sumB = t.b.reduce((x, y) => x + y, 0);
  if (Math.abs(sumB - 1) > 1e-14) bad(`the weights b sum to ${sumB}, not 1 (consistency)`);
  return t;
}
