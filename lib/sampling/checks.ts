/** Preconditions shared by the update rules: each case where the official code would crash or yield NaN. */
import { SDE, VPSDE } from "../sde";
import { fail } from "../validate";

/** Throws unless `ctx.sde` is an SDE and `ctx.score` a function. */
export function checkSdeAndScore(where: string, sde: unknown, score: unknown): asserts sde is SDE {
  if (!(sde instanceof SDE)) fail(where, "sde", describe(sde), "an SDE instance (VESDE, VPSDE or SubVPSDE)");
  if (typeof score !== "function") fail(where, "score", describe(score), "a function (x, t[B]) => tensor of x's shape");
}

/**
 * The DDPM chain of a VPSDE needs every discrete β_i < 1 (√(1 − β_i) and α_i = 1 − β_i > 0). The largest is
 * β_max/N, so e.g. β_max = 20 with N = 10 is refused here instead of producing NaN in the loop.
 */
export function checkDiscreteBetas(where: string, sde: SDE): void {
  if (sde instanceof VPSDE && sde.betaMax / sde.N >= 1) {
    fail(
      where,
      "sde (VPSDE) betaMax/N",
      sde.betaMax / sde.N,
      `< 1 (betaMax = ${sde.betaMax}, N = ${sde.N}): the DDPM chain needs 1 − β_i > 0; raise N or use euler_maruyama`,
    );
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}
