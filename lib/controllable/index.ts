export { classifierGuidedScore, pcConditionalSample, labelVector } from "./guidance";
export type { ClassifierGradFn, GuidedScoreOptions, PCConditionalSampleOptions } from "./guidance";
export { pcInpaint, pcColorize } from "./inpaint";
export type { InpaintOptions, ColorizeOptions, ReplacementSamplerOptions, ReplacementResult, InpaintStart } from "./inpaint";
export { createToyClassifier, createImageClassifier, classifierFromConfig, getClassifierWeights, setClassifierWeights, trainNoiseConditionalClassifier, classifierGradFn, classifierLogProb } from "./classifier";
export type { ClassifierNetwork, ToyClassifierConfig, ImageClassifierConfig, LabelledSource, TrainClassifierOptions, TrainClassifierResult } from "./classifier";
export { INPAINT_REGIONS, regionMask, regionMaskValues } from "./masks";
export type { InpaintRegion } from "./masks";
