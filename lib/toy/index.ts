export type { ToyDistribution } from "./types";
export { GaussianMixture } from "./gmm";
export type { GaussianMixtureConfig } from "./gmm";
export { eightGaussians, gridGaussians, anisotropicMixture } from "./presets";
export type { EightGaussiansOptions, GridGaussiansOptions } from "./presets";
export { symmetricEigen } from "./linalg";
export type { SymmetricEigen } from "./linalg";
