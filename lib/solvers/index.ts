/**
 * Samplers as step solvers over time grids (k-diffusion's shape: one function per method, a grid passed in) and
 * the one loop that drives them. Importing this module registers every solver below by name.
 */
export { GRID_KINDS, uniformGrid, logSnrGrid, karrasGrid, quadraticGrid, timeGrid, checkGrid } from "./grids";
export type { GridKind, TimeGridOptions } from "./grids";
export type { SolverState, StepSolver, SolverContext, SolverFactory, HistoryEntry } from "./types";
export { runLoop, checkedScore } from "./loop";
export type { LoopOptions, LoopResult, SolverStepInfo } from "./loop";
export { modelOutputs } from "./model";
export type { ModelOutputs } from "./model";
export { registerSolver, getSolver, solverNames } from "./registry";
export type { SolverEntry } from "./registry";
export { sample } from "./sample";
export type { SampleOptions, SampleResult } from "./sample";
export { ddim } from "./ddim";
export { dpmSolver } from "./dpm-solver";
export { dpmSolverPp2m } from "./dpm-solver-pp-2m";
export { heun, heunStep, edmSigma } from "./heun";
export { edmStochastic } from "./edm-stochastic";
export { stochasticHeun } from "./stochastic-heun";
export { adaptiveSde } from "./adaptive-sde";
