/** Dormand–Prince 5(4) (Dormand & Prince 1980; Hairer et al. Table II.5.2), the pair of scipy's `RK45`. */
import { EmbeddedTableau, checkTableau } from "./tableau";

export const DOPRI5: EmbeddedTableau = checkTableau({
  name: "RK45",
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  ],
  // 5th-order weights (the propagated solution: "local extrapolation").
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  e: [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40],
  order: 5,
  errorOrder: 4,
});
