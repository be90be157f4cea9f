export type { ScoreNetwork, ApplyOptions } from "./network";
export { createToyMLP, resolveToyMLPConfig } from "./mlp";
export type { ToyMLPConfig, ResolvedToyMLPConfig } from "./mlp";
export { createUNet, resolveUNetConfig, groupsFor, AUTO_CHECKPOINT_BYTES } from "./unet";
export type { UNetConfig, ResolvedUNetConfig, UNetNetwork } from "./unet";
export { scoreFnFromModel, labelsForTime } from "./score";
export type { ScoreFnOptions } from "./score";
export { getWeights, setWeights } from "./weights";
export type { NamedWeight } from "./weights";
export { networkFromConfig, registerNetwork, registeredNetworks } from "./registry";
export type { NetworkFactory } from "./registry";
export {
  ParamStore,
  Dense,
  Conv2d,
  GroupNorm,
  Attention,
  FourierEmbedding,
  PositionalEmbedding,
  makeEmbedding,
  activation,
  ACTIVATIONS,
  EMBEDDINGS,
} from "./layers";
export type { Activation, EmbeddingType, Init } from "./layers";
export { remat } from "./remat";
export { linear, bmm, conv2dSame, silu, avgPool2, upsampleNearest2, groupNorm, groupNormSilu } from "./ops";
