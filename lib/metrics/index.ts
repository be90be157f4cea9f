export type { Points, HostPoints } from "./points";
export { toHostPoints, subsamplePoints } from "./points";
export {
  energyDistance,
  slicedWasserstein,
  wasserstein1d,
  wassersteinPowerSorted1d,
  noiseFloor,
  withinNoiseFloor,
  sampleCrossEntropy,
} from "./distances";
export type {
  EnergyDistanceOptions,
  SlicedWassersteinOptions,
  SampleSource,
  NoiseFloor,
  NoiseFloorOptions,
  CrossEntropyOptions,
} from "./distances";
export { mean, std, modeStats } from "./summary";
export type { ModeStats } from "./summary";
