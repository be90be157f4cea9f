export { Adam, EMA, warmupLr, clipByGlobalNorm, clipCoefficient, globalNorm, withWeights, resolveAdamConfig } from "./optim";
export type { AdamConfig, AdamState, ResolvedAdamConfig } from "./optim";
export {
  saveCheckpoint,
  loadCheckpoint,
  loadWeightsInto,
  checkCompatible,
  configDiff,
  writeFileAtomic,
  variableTable,
  assignState,
  lockCheckpoint,
  removeStaleTemps,
  processAlive,
} from "./checkpoint";
export type { CheckpointData, CheckpointLock, LockHolder } from "./checkpoint";
export { train, Trainer, TrainingDivergedError, toyBatchSource, datasetBatchSource } from "./train";
export type { BatchSource, TrainOptions, TrainResult, TrainLossOptions, OptimizerOptions, StepInfo, LogInfo, CheckpointOptions } from "./train";
export { formatDuration, Progress } from "./progress";
export type { ProgressOptions, ProgressMode, ProgressState } from "./progress";
