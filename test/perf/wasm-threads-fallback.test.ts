/**
 * The wasm-threads shim falls back to one thread, with the reason recorded, when tfjs-backend-wasm is not the
 * version it was written against; the backend still works.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { wasmThreadsUnsupportedReason } from "../../lib/perf/wasmThreads";

// These tests are about the threaded wasm build itself. With lib/perf/native's oneDNN kernels the asked threads go
// to them instead (test/perf/native.test.ts), so this process (and its children) runs without them.
process.env.SCORE_SDE_NATIVE = "0";

describe("wasm threads fallback", () => {
  it("an unaudited tfjs-backend-wasm version is refused with a reason", () => {
    const fake = { setThreadsCount: () => undefined, getThreadsCount: () => 1, version_wasm: "9.9.9" };
    assert.match(wasmThreadsUnsupportedReason(fake) ?? "", /tfjs-backend-wasm 9\.9\.9 is not the audited 4\.22\.0/);
  });

  it("falls back to the 1-thread build and says why", async () => {
    const load = (m: string): unknown => {
      const mod = require(m);
      // Same module, reporting another version: the shim must not touch tfjs internals it has not audited.
      return m === "@tensorflow/tfjs-backend-wasm" ? { ...mod, version_wasm: "9.9.9" } : mod;
    };
    const info = await initBackend({ backend: "wasm", quiet: true, wasmThreads: 2, load });
    assert.equal(info.name, "wasm");
    assert.equal(info.threads, 1);
    assert.match(info.wasmThreadsFallback ?? "", /asked for 2 wasm thread\(s\), got 1: tfjs-backend-wasm 9\.9\.9 is not the audited/);
    assert.deepEqual(Array.from(tf.tensor([1, 2, 3]).square().dataSync()), [1, 4, 9]);
  });
});
