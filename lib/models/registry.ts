/**
 * Architecture registry: `networkFromConfig(net.getConfig())` rebuilds a network of the same architecture (fresh
 * weights drawn from the config's seed; load saved ones with `setWeights`). The built-ins are registered here so
 * that importing this module is enough.
 */
import { KindRegistry } from "../registry";
import { createToyMLP, ToyMLPConfig } from "./mlp";
import type { ScoreNetwork } from "./network";
import { createUNet, UNetConfig } from "./unet";

export type NetworkFactory = (config: Record<string, unknown>) => ScoreNetwork;

const registry = new KindRegistry<ScoreNetwork>("networkFromConfig", "an object with a kind");

/** Registers an architecture under `kind` (e.g. a user-defined network). */
export function registerNetwork(kind: string, factory: NetworkFactory): void {
  registry.register(kind, factory);
}

export function registeredNetworks(): string[] {
  return registry.kinds();
}

/** Rebuilds a network from `getConfig()` output (fresh weights from the config's seed; load saved ones with setWeights). */
export function networkFromConfig(config: Record<string, unknown>): ScoreNetwork {
  return registry.fromConfig(config);
}

registerNetwork("mlp", (c) => createToyMLP(c as ToyMLPConfig));
registerNetwork("unet", (c) => createUNet(c as unknown as UNetConfig));
