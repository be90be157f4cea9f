/** Preconditions shared by the update rules: each case where the official code would crash or yield NaN. */
import { SDE } from "../sde";
import { fail } from "../validate";

/** Throws unless `ctx.sde` is an SDE and `ctx.score` a function. */
export function checkSdeAndScore(where: string, sde: unknown, score: unknown): asserts sde is SDE {
  if (!(sde instanceof SDE)) fail(where, "sde", describe(sde), "an SDE instance (VESDE, VPSDE or SubVPSDE)");
  if (typeof score !== "function") fail(where, "score", describe(score), "a function (x, t[B]) => tensor of x's shape");
}

/** The SDE's own check that its discrete chain is defined for its N (e.g. the DDPM chain's β_max/N < 1, lib/sde/vp.ts). */
export function checkDiscreteBetas(where: string, sde: SDE): void {
  sde.checkDiscretization(where);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}
