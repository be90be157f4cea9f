export { solveRk45, solveRk45Async, nextAfter } from "./rk45";
export type { OdeFunction, AsyncOdeFunction, Rk45Options, Rk45Result, Rk45StepInfo } from "./rk45";
export { odeSample, odeEncode } from "./flow";
export type { OdeSampleOptions, OdeSampleResult, OdeEncodeOptions, OdeEncodeResult, FlowSolveOptions, FlowStepInfo } from "./flow";
