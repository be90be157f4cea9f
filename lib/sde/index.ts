export { SDE, ReverseSDE } from "./sde";
export type { ScoreFn, SDEKind, Discretization, MarginalCoefficients } from "./sde";
export { VESDE } from "./ve";
export type { VESDEConfig } from "./ve";
export { VPSDE, SubVPSDE, BetaScheduleSDE } from "./vp";
export type { VPSDEConfig } from "./vp";
export { timeVector, checkTime, perExample, sumPerExample, dimsOf, linspace } from "./time";
