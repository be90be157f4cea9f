/**
 * wasm multi-threading in Node (lib/perf/wasmThreads): the threaded XNNPACK build starts with the asked thread
 * count and computes the same numbers as the single-threaded one. Runs in its own process (node --test), so the
 * wasm backend is fresh here.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, resolveWasmThreads } from "../../lib/backend";

// These tests are about the threaded wasm build itself. With lib/perf/native's oneDNN kernels the asked threads go
// to them instead (test/perf/native.test.ts), so this process (and its children) runs without them.
process.env.SCORE_SDE_NATIVE = "0";

describe("wasm threads", () => {
  it("rejects bad thread counts before touching any backend", () => {
    assert.throws(() => resolveWasmThreads(0), /wasm threads must be "auto" or an integer in \[1, 8\], got "0"/);
    assert.throws(() => resolveWasmThreads(9), /got "9"/);
    assert.equal(resolveWasmThreads(3), 3);
    assert.ok(resolveWasmThreads("auto") >= 1);
  });

  it("starts the threaded build with 2 threads and matches a float64 reference", async () => {
    const info = await initBackend({ backend: "wasm", quiet: true, wasmThreads: 2 });
    assert.equal(info.name, "wasm");
    assert.equal(info.wasmThreadsFallback, undefined, info.wasmThreadsFallback);
    assert.equal(info.threads, 2);
    // The shim's patches are gone once the backend started.
    assert.equal(typeof (globalThis.Blob as unknown as { prototype: object }).prototype, "object");
    assert.equal(globalThis.Blob.name, "Blob");
    assert.ok(os.cpus().length >= 1 && os.cpus().length <= 64);
    // A product big enough for XNNPACK to split it over the pool (checked against float64 on the host).
    const n = 96;
    const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(0.7 * i));
    const prod = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])));
    const got = prod.dataSync();
    prod.dispose();
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
        worst = Math.max(worst, Math.abs(got[i * n + j] - s));
      }
    assert.ok(worst < 1e-3, `max |error| ${worst}`);
  });

  it("a later call asking for another count keeps the running backend and says so", async () => {
    const info = await initBackend({ backend: "wasm", quiet: true, wasmThreads: 1 });
    assert.equal(info.threads, 2);
    assert.match(info.wasmThreadsFallback ?? "", /already initialised in this process with 2 thread/);
  });

  it("a program using 2 threads exits by itself and removes its served scripts", () => {
    // Regression: Emscripten ref()s pool workers that never finish, so without the shim's unreferenced workers
    // Node would hang at the end of every program.
    const script = `
      const fs = require("fs"), os = require("os");
      const before = new Set(fs.readdirSync(os.tmpdir()));
      require(${JSON.stringify(path.join(__dirname, "..", "..", "lib", "backend"))})
        .initBackend({ backend: "wasm", quiet: true, wasmThreads: 2 })
        .then((info) => {
          const tf = require("@tensorflow/tfjs");
          tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync();
          const mine = fs.readdirSync(os.tmpdir()).filter((d) => !before.has(d) && d.startsWith("score-sde-wasm-threads-"));
          console.log(JSON.stringify({ threads: info.threads, dirs: mine }));
        });`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000, cwd: path.join(__dirname, "..", "..", "..") });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal}); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { threads: number; dirs: string[] };
    assert.equal(out.threads, 2);
    assert.equal(out.dirs.length, 1);
    assert.equal(fs.existsSync(path.join(os.tmpdir(), out.dirs[0])), false, "served scripts left behind");
  });
});
