/**
 * Architecture registry: `networkFromConfig(net.getConfig())` rebuilds a network of the same architecture (fresh
 * weights drawn from the config's seed; load saved ones with `setWeights`). The built-ins are registered here so
 * that importing this module is enough.
 */
import { fail, fmt } from "../validate";
import { createToyMLP, ToyMLPConfig } from "./mlp";
import type { ScoreNetwork } from "./network";
import { createUNet, UNetConfig } from "./unet";

export type NetworkFactory = (config: Record<string, unknown>) => ScoreNetwork;

const registry = new Map<string, NetworkFactory>();

/** Registers an architecture under `kind` (e.g. a user-defined network). */
export function registerNetwork(kind: string, factory: NetworkFactory): void {
  registry.set(kind, factory);
}

export function registeredNetworks(): string[] {
  return [...registry.keys()].sort();
}

/** Rebuilds a network from `getConfig()` output (fresh weights from the config's seed; load saved ones with setWeights). */
export function networkFromConfig(config: Record<string, unknown>): ScoreNetwork {
  if (config === null || typeof config !== "object") fail("networkFromConfig", "config", config, "an object with a kind");
  const kind = config.kind;
  const factory = typeof kind === "string" ? registry.get(kind) : undefined;
  if (!factory) fail("networkFromConfig", "config.kind", kind, `one of ${registeredNetworks().map((k) => fmt(k)).join(", ")}`);
  const { kind: _k, ...rest } = config;
  return factory(rest);
}

registerNetwork("mlp", (c) => createToyMLP(c as ToyMLPConfig));
registerNetwork("unet", (c) => createUNet(c as unknown as UNetConfig));
