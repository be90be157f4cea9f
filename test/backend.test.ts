/** Backend choice: the fallback chain works when the native TensorFlow packages are absent. */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";

// A loader that behaves as on a machine where tfjs-node(-gpu) failed to install.
const withoutNative = (m: string): unknown => {
  if (m.startsWith("@tensorflow/tfjs-node")) throw new Error(`Cannot find module '${m}'`);
  return require(m);
};

describe("initBackend", () => {
  it("auto falls back past missing native packages to wasm and says why", async () => {
    const info = await initBackend({ backend: "auto", quiet: true, load: withoutNative });
    assert.equal(info.name, "wasm");
    assert.equal(tf.getBackend(), "wasm");
    assert.deepEqual(
      info.skipped.map((s) => s.name),
      ["node-gpu", "node"],
    );
    assert.match(info.skipped[0].reason, /Cannot find module '@tensorflow\/tfjs-node-gpu'/);
    const x = tf.tensor([1, 2, 3]);
    assert.deepEqual(Array.from(x.square().dataSync()), [1, 4, 9]);
  });

  it("falls back to cpu when wasm cannot load either", async () => {
    const noWasm = (m: string): unknown => {
      if (m === "@tensorflow/tfjs-backend-wasm") throw new Error("wasm unavailable");
      return withoutNative(m);
    };
    const info = await initBackend({ backend: "auto", quiet: true, load: noWasm });
    assert.equal(info.name, "cpu");
    assert.equal(tf.getBackend(), "cpu");
    assert.deepEqual(info.skipped.map((s) => s.name), ["node-gpu", "node", "wasm"]);
  });

  it("a forced backend is used or fails with a clear error", async () => {
    assert.equal((await initBackend({ backend: "cpu", quiet: true })).name, "cpu");
    await assert.rejects(initBackend({ backend: "node-gpu", quiet: true, load: withoutNative }), /node-gpu: Cannot find module/);
    await assert.rejects(initBackend({ backend: "gpu" as never, quiet: true }), /backend "gpu" is not known; allowed: auto, node-gpu, node, wasm, cpu/);
    assert.equal((await initBackend({ backend: "wasm", quiet: true })).name, "wasm");
  });

  it("the environment variable forces a backend", async () => {
    const old = process.env.SCORE_SDE_BACKEND;
    process.env.SCORE_SDE_BACKEND = "cpu";
    try {
      assert.equal((await initBackend({ quiet: true, load: withoutNative })).name, "cpu");
      process.env.SCORE_SDE_BACKEND = "tpu";
      await assert.rejects(initBackend({ quiet: true, load: withoutNative }), /SCORE_SDE_BACKEND: backend "tpu" is not known/);
    } finally {
      if (old === undefined) delete process.env.SCORE_SDE_BACKEND;
      else process.env.SCORE_SDE_BACKEND = old;
    }
  });
});
