export { classifierGuidedScore, pcConditionalSample, labelVector } from "./guidance";
export type { ClassifierGradFn, GuidedScoreOptions, PCConditionalSampleOptions } from "./guidance";
export { pcInpaint, pcColorize } from "./inpaint";
export type { InpaintOptions, ColorizeOptions, ReplacementSamplerOptions, ReplacementResult, InpaintStart } from "./inpaint";
