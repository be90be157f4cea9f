/** The SDE contract's config pair (lib/sde/registry.ts): sdeFromConfig(sde.getConfig()) rebuilds every built-in SDE. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registeredSdes, sdeFromConfig, SubVPSDE, VESDE, VPSDE, type SDEConfig } from "../lib/sde";
import { setup } from "./helpers";

before(setup);

describe("sdeFromConfig / getConfig", () => {
  it("records exactly the settings a checkpoint compares (kind, N and the schedule's parameters)", () => {
    assert.deepEqual(new VESDE({ sigmaMax: 30, N: 500 }).getConfig(), { kind: "VE", N: 500, sigmaMin: 0.01, sigmaMax: 30 });
    assert.deepEqual(new VPSDE().getConfig(), { kind: "VP", N: 1000, betaMin: 0.1, betaMax: 20 });
    assert.deepEqual(new SubVPSDE({ betaMax: 10 }).getConfig(), { kind: "subVP", N: 1000, betaMin: 0.1, betaMax: 10 });
  });

  it("rebuilds each built-in SDE with the same class, settings and marginal", () => {
    assert.deepEqual(registeredSdes().filter((k) => ["VE", "VP", "subVP"].includes(k)), ["VE", "VP", "subVP"]);
    for (const sde of [new VESDE({ sigmaMin: 0.02, sigmaMax: 40, N: 7 }), new VPSDE({ betaMin: 0.2, betaMax: 15, N: 9 }), new SubVPSDE({ N: 3 })]) {
      const back = sdeFromConfig(sde.getConfig());
      assert.equal(back.constructor, sde.constructor);
      assert.deepEqual(back.getConfig(), sde.getConfig());
      const [a, b] = tf.tidy(() => {
        const t = tf.tensor1d([0.001, 0.3, 1]);
        return [sde.marginalCoefficients(t).std.dataSync(), back.marginalCoefficients(t).std.dataSync()];
      });
      assert.deepEqual(Array.from(b), Array.from(a));
    }
  });

  it("missing settings take the defaults; unknown kinds and settings are named errors", () => {
    assert.deepEqual(sdeFromConfig({ kind: "VP" }).getConfig(), new VPSDE().getConfig());
    assert.throws(() => sdeFromConfig({ kind: "VEX" }), /config.kind = "VEX" is not allowed; config.kind must be one of .*"VE".*"VP".*"subVP"/);
    assert.throws(() => sdeFromConfig({ kind: "VE", betaMax: 20 }), /config.betaMax = 20 is not allowed; config.betaMax must be absent: the settings of "VE" are N, sigmaMin, sigmaMax/);
    assert.throws(() => sdeFromConfig({ kind: "VP", N: "1000" } as unknown as SDEConfig), /config.N = "1000" is not allowed; config.N must be a number/);
    assert.throws(() => sdeFromConfig(null as unknown as { kind: string }), /config = null is not allowed/);
  });

  it("each SDE picks its network parameterisation", () => {
    assert.equal(new VESDE().parameterization.name, "scale-by-sigma");
    assert.equal(new VPSDE().parameterization.name, "epsilon");
    assert.equal(new SubVPSDE().parameterization.name, "epsilon");
  });
});
