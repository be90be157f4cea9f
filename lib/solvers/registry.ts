/**
 * Solvers by name, so that a notebook or the sampling command sweeps them from a table. Each entry is one file of
 * lib/solvers that registers itself here: its factory, the grid it is usually run on and its NFE per step.
 */
import { fail, fmt } from "../validate";
import type { GridKind } from "./grids";
import type { SolverFactory } from "./types";

export interface SolverEntry {
  create: SolverFactory;
  /** The grid `sample` builds when none is given. */
  defaultGrid: GridKind;
  /** Score evaluations per grid interval (NaN: adaptive, varies). */
  evalsPerStep: number;
  /** Whether it samples the reverse SDE (draws noise) or solves the probability-flow ODE. */
  stochastic: boolean;
  /** One line: what it is and where it comes from. */
  summary: string;
}

const SOLVERS = new Map<string, SolverEntry>();

export function registerSolver(name: string, entry: SolverEntry, opts: { replace?: boolean } = {}): void {
  const where = "registerSolver";
  if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) fail(where, "name", name, "a non-empty string of letters, digits, '_', '.', '-'");
  if (!entry || typeof entry.create !== "function") fail(where, "entry.create", typeof entry?.create, "a function (context) => StepSolver");
  if (SOLVERS.has(name) && !opts.replace) fail(where, "name", name, "not already registered (pass { replace: true } to override)");
  SOLVERS.set(name, entry);
}

/** The entry registered under `name`; an unknown name is an error listing the registered ones. */
export function getSolver(name: string): SolverEntry {
  const e = SOLVERS.get(name);
  if (!e) fail("getSolver", "solver", name, `one of ${[...SOLVERS.keys()].map((n) => fmt(n)).join(", ")}`);
  return e;
}

export function solverNames(): string[] {
  return [...SOLVERS.keys()];
}
