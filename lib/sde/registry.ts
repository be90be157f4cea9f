/**
 * SDEs by name. `sde.getConfig()` records an SDE as `{ kind, N, ...its parameters }` (what a checkpoint stores and a
 * resumed run compares), and `sdeFromConfig(config)` rebuilds it. Each SDE's own file registers its class's
 * `fromConfig` under its `kind`, so a new SDE is one file: nothing here or in the samplers, losses, trainer or
 * score wrapper has to learn its name.
 */
import { fail, fmt } from "../validate";
import type { SDE } from "./sde";

/** An SDE's settings: its registered kind, its number of discretisation steps and its own parameters. */
export interface SDEConfig {
  kind: string;
  N?: number;
  [param: string]: unknown;
}

export type SDEFactory = (config: SDEConfig) => SDE;

const registry = new Map<string, SDEFactory>();

/** Registers an SDE class under `kind` (its `fromConfig`); registering a kind again replaces it (module reloads). */
export function registerSde(kind: string, fromConfig: SDEFactory): void {
  if (typeof kind !== "string" || kind === "") fail("registerSde", "kind", kind, "a non-empty string");
  if (typeof fromConfig !== "function") fail("registerSde", "fromConfig", typeof fromConfig, "a function (config) => SDE");
  registry.set(kind, fromConfig);
}

/** The registered kinds, sorted. */
export function registeredSdes(): string[] {
  return [...registry.keys()].sort();
}

/** Rebuilds an SDE from `sde.getConfig()` (or any `{ kind, ...settings }`; missing settings take the defaults). */
export function sdeFromConfig(config: SDEConfig): SDE {
  if (config === null || typeof config !== "object" || Array.isArray(config)) fail("sdeFromConfig", "config", config, "an object { kind, N?, ...parameters }");
  const factory = typeof config.kind === "string" ? registry.get(config.kind) : undefined;
  if (!factory) fail("sdeFromConfig", "config.kind", config.kind, `one of ${registeredSdes().map((k) => fmt(k)).join(", ")}`);
  return factory(config);
}

/**
 * For `fromConfig` implementations: the config's settings as numbers, refusing keys the SDE does not have (a
 * misspelt parameter must not silently fall back to its default).
 */
export function configNumbers(where: string, config: SDEConfig, allowed: readonly string[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === "kind") continue;
    if (!allowed.includes(k)) fail(where, `config.${k}`, v, `absent: the settings of ${fmt(config.kind)} are ${allowed.join(", ")}`);
    if (v !== undefined && typeof v !== "number") fail(where, `config.${k}`, v, "a number");
    out[k] = v as number | undefined;
  }
  return out;
}
