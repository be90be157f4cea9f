/**
 * Bogacki–Shampine 3(2) (Bogacki & Shampine 1989), the pair of scipy's `RK23` and MATLAB's ode23: three stages plus
 * the FSAL stage, third-order solution, second-order error estimate. Cheaper per step than RK45 (3 evaluations
 * instead of 6), for loose tolerances.
 */
import { EmbeddedTableau, checkTableau } from "./tableau";

export const BOSH3: EmbeddedTableau = checkTableau({
  name: "RK23",
  c: [0, 1 / 2, 3 / 4],
  a: [[], [1 / 2], [0, 3 / 4]],
  b: [2 / 9, 1 / 3, 4 / 9],
  // b − b̂ with b̂ = (7/24, 1/4, 1/3, 1/8) over the three stages and f(t + h, y_new).
  e: [5 / 72, -1 / 12, -1 / 9, 1 / 8],
  order: 3,
  errorOrder: 2,
});
