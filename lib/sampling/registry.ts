/**
 * Name → factory registries for predictors and correctors (as the official `register_predictor` /
 * `register_corrector`), so a notebook can sweep predictor × corrector × snr × N from a table of names.
 */
import { fail, fmt } from "../validate";
import { AnnealedLangevinCorrector, LangevinCorrector, NoneCorrector } from "./correctors";
import { AncestralSamplingPredictor, EulerMaruyamaPredictor, NonePredictor, ReverseDiffusionPredictor } from "./predictors";
import type { CorrectorFactory, PredictorFactory } from "./types";

const PREDICTORS = new Map<string, PredictorFactory>();
const CORRECTORS = new Map<string, CorrectorFactory>();

function register<F>(registry: Map<string, F>, kind: string, name: string, factory: F, replace: boolean): void {
  const where = `register${kind}`;
  if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    fail(where, "name", name, "a non-empty string of letters, digits, '_', '.', '-'");
  }
  if (typeof factory !== "function") fail(where, "factory", typeof factory, "a function (context) => updater");
  // The official registry raises on a duplicate name; overwriting silently would hide a typo'd re-registration.
  if (registry.has(name) && !replace) fail(where, "name", name, `not already registered (pass { replace: true } to override)`);
  registry.set(name, factory);
}

function lookup<F>(registry: Map<string, F>, kind: string, name: string): F {
  const f = registry.get(name);
  if (!f) fail(`get${kind}`, kind.toLowerCase(), name, `one of ${[...registry.keys()].map((n) => fmt(n)).join(", ")}`);
  return f;
}

export function registerPredictor(name: string, factory: PredictorFactory, opts: { replace?: boolean } = {}): void {
  register(PREDICTORS, "Predictor", name, factory, opts.replace ?? false);
}

/** The factory registered under `name`; an unknown name is an error listing the registered ones. */
export function getPredictor(name: string): PredictorFactory {
  return lookup(PREDICTORS, "Predictor", name);
}

export function predictorNames(): string[] {
  return [...PREDICTORS.keys()];
}

export function registerCorrector(name: string, factory: CorrectorFactory, opts: { replace?: boolean } = {}): void {
  register(CORRECTORS, "Corrector", name, factory, opts.replace ?? false);
}

export function getCorrector(name: string): CorrectorFactory {
  return lookup(CORRECTORS, "Corrector", name);
}

export function correctorNames(): string[] {
  return [...CORRECTORS.keys()];
}

registerPredictor("euler_maruyama", (ctx) => new EulerMaruyamaPredictor(ctx));
registerPredictor("reverse_diffusion", (ctx) => new ReverseDiffusionPredictor(ctx));
registerPredictor("ancestral_sampling", (ctx) => new AncestralSamplingPredictor(ctx));
registerPredictor("none", (ctx) => new NonePredictor(ctx));
registerCorrector("langevin", (ctx) => new LangevinCorrector(ctx));
registerCorrector("ald", (ctx) => new AnnealedLangevinCorrector(ctx));
registerCorrector("none", (ctx) => new NoneCorrector(ctx));
