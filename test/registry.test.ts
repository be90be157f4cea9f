/**
 * lib/registry.ts: the kind → factory registry behind networkFromConfig and classifierFromConfig, and the built-in
 * kinds each of those registers.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { KindRegistry } from "../lib/registry";
import { registeredNetworks } from "../lib/models";
import { registeredClassifiers } from "../lib/controllable/classifiers/registry";

describe("KindRegistry", () => {
  it("calls the factory of config.kind with the rest of the config; kinds are sorted", () => {
    const r = new KindRegistry<string>("build", "an object with a kind");
    r.register("b", (c) => `b:${JSON.stringify(c)}`);
    r.register("a", (c) => `a:${c.n}`);
    assert.deepEqual(r.kinds(), ["a", "b"]);
    assert.equal(r.fromConfig({ kind: "a", n: 3 }), "a:3");
    assert.equal(r.fromConfig({ kind: "b", n: 1, m: "x" }), 'b:{"n":1,"m":"x"}');
    r.register("a", () => "replaced");
    assert.equal(r.fromConfig({ kind: "a" }), "replaced");
  });

  it("refuses a config that is not an object, and an unknown or missing kind, listing the known kinds", () => {
    const r = new KindRegistry<number>("build", "an object with a kind");
    r.register("one", () => 1);
    r.register("two", () => 2);
    assert.throws(() => r.fromConfig(null as never), /build: config = null is not allowed; config must be an object with a kind/);
    assert.throws(() => r.fromConfig({ kind: "three" }), /build: config.kind = "three" .* must be one of "one", "two"/);
    assert.throws(() => r.fromConfig({}), /config.kind = undefined/);
    assert.throws(() => r.fromConfig({ kind: 1 }), /config.kind = 1/);
  });

  it("the built-in networks and classifiers are registered on import", () => {
    assert.deepEqual(registeredNetworks(), ["mlp", "unet"]);
    assert.deepEqual(registeredClassifiers(), ["imageClassifier", "toyClassifier"]);
  });
});
