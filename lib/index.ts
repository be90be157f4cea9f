/**
 * score-sde-ts public API. Call `await initBackend()` once before any tensor work.
 */
export * as tf from "@tensorflow/tfjs";
export { initBackend, backendInfo, BACKEND_ORDER } from "./backend";
export type { BackendName, BackendInfo, InitBackendOptions } from "./backend";
export { createRng, recordingRng, replayRng } from "./random";
export type { Rng, RngState, Draw, DrawKind } from "./random";
export * from "./sde";
export * from "./toy";
export * from "./sampling";
export * from "./solvers";
export * from "./models";
export * from "./losses";
export * from "./train";
export * from "./viz";
export * from "./metrics";
export * from "./ode";
export * from "./likelihood";
export * from "./io";
export * from "./data";
export * from "./controllable";
