/**
 * A registry of architectures by `kind`: rebuilds an object from its `getConfig()` output ({kind, ...settings}) by
 * the factory registered under that kind. Score networks (lib/models/registry.ts) and noise-conditional
 * classifiers (lib/controllable/classifiers/registry.ts) each keep one, so a new architecture is one file that
 * registers itself there instead of another branch of an if-chain.
 */
import { fail, fmt } from "./validate";

export class KindRegistry<T> {
  private readonly factories = new Map<string, (config: Record<string, unknown>) => T>();

  /** `where` names the rebuilding function in errors; `expects` describes the config it takes. */
  constructor(private readonly where: string, private readonly expects: string) {}

  register(kind: string, factory: (config: Record<string, unknown>) => T): void {
    this.factories.set(kind, factory);
  }

  /** The registered kinds, sorted. */
  kinds(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Calls the factory of `config.kind` with the rest of the config; an unknown kind is an error listing the known. */
  fromConfig(config: Record<string, unknown>): T {
    if (config === null || typeof config !== "object") fail(this.where, "config", config, this.expects);
    const { kind, ...rest } = config;
    const factory = typeof kind === "string" ? this.factories.get(kind) : undefined;
    if (!factory) fail(this.where, "config.kind", kind, `one of ${this.kinds().map((k) => fmt(k)).join(", ")}`);
    return factory(rest);
  }
}
