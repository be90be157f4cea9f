/**
 * Classifier registry: `classifierFromConfig(net.getConfig())` rebuilds a classifier of the same architecture (fresh
 * weights drawn from the config's seed; load saved ones with `setClassifierWeights`), as lib/models/registry.ts does
 * for score networks. The built-ins are registered here so that importing this module is enough.
 */
import { KindRegistry } from "../../registry";
import type { ClassifierNetwork } from "../classifier";
import { createImageClassifier } from "./image";
import type { ImageClassifierConfig } from "./image";
import { createToyClassifier } from "./toy";
import type { ToyClassifierConfig } from "./toy";

const registry = new KindRegistry<ClassifierNetwork>("classifierFromConfig", "a classifier's getConfig() object");

/** Registers a classifier architecture under `kind` (its `getConfig().kind`). */
export function registerClassifier(kind: string, factory: (config: Record<string, unknown>) => ClassifierNetwork): void {
  registry.register(kind, factory);
}

export function registeredClassifiers(): string[] {
  return registry.kinds();
}

/** Rebuilds a classifier's architecture from its `getConfig()` (fresh weights; load them with setClassifierWeights). */
export function classifierFromConfig(config: Record<string, unknown>): ClassifierNetwork {
  return registry.fromConfig(config);
}

registerClassifier("toyClassifier", (c) => createToyClassifier(c as unknown as ToyClassifierConfig));
registerClassifier("imageClassifier", (c) => createImageClassifier(c as unknown as ImageClassifierConfig));
