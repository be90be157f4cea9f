export { solveRk45, solveRk45Async, nextAfter } from "./rk45";
export type { OdeFunction, AsyncOdeFunction, Rk45Options, Rk45Result, Rk45StepInfo } from "./rk45";
export { checkTableau } from "./tableau";
export type { EmbeddedTableau } from "./tableau";
export { DOPRI5 } from "./dopri5";
export { BOSH3 } from "./bosh3";
export { StepController, rmsRatio } from "./controller";
export { odeSample, odeEncode } from "./flow";
export type { OdeSampleOptions, OdeSampleResult, OdeEncodeOptions, OdeEncodeResult, FlowSolveOptions, FlowStepInfo } from "./flow";
