export type {
  PCUpdateResult,
  PCUpdater,
  Predictor,
  Corrector,
  PredictorContext,
  CorrectorContext,
  PredictorFactory,
  CorrectorFactory,
} from "./types";
export { EulerMaruyamaPredictor, ReverseDiffusionPredictor, AncestralSamplingPredictor, NonePredictor } from "./predictors";
export { LangevinCorrector, AnnealedLangevinCorrector, NoneCorrector } from "./correctors";
export {
  registerPredictor,
  getPredictor,
  predictorNames,
  registerCorrector,
  getCorrector,
  correctorNames,
} from "./registry";
export { pcSample } from "./pc";
export type { PCSampleOptions, PCSampleResult, PCStepInfo } from "./pc";
export { table1Settings, TABLE1_COLUMNS, TABLE1_ROWS } from "./table1";
export type { Table1Column, Table1Row, Table1Settings } from "./table1";
