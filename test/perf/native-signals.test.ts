/**
 * lib/perf/native under signals. oneDNN 2.6's generated GEMM kernels point the stack pointer into a heap buffer
 * while they run (oneDNN issue #4845): a signal handled on that thread meanwhile writes its frame into the heap.
 * Before the addon held signals back around its oneDNN calls, `node --cpu-prof` (V8's profiler interrupts the main
 * thread with SIGPROF every `--cpu-prof-interval` µs) aborted a loop of 512×128·128×128 products within a second
 * ("corrupted size vs. prev_size while consolidating", exit 134), on the AMD EPYC and with oneDNN's AVX-512 sgemm.
 * Here a child process runs products and convolutions (forward and both gradients) under the profiler, at 1 and
 * 2 threads, and every result must equal the first one bit for bit.
 */
import { describe, it, before } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup } from "../helpers";
import { nativeKernelsInstalled, nativeKernelsUnavailableReason } from "../../lib/perf/native";

/** The child: N rounds of a product and a convolution step, each checksum compared with round 0's. */
const child = (threads: number, rounds: number) => `
  const tf = require("@tensorflow/tfjs");
  require(${JSON.stringify(path.join(__dirname, "..", "..", "lib", "backend"))})
    .initBackend({ backend: "wasm", quiet: true, wasmThreads: ${threads} })
    .then((info) => {
      if (!info.native) throw new Error("native kernels not installed in the child");
      const a = tf.randomNormal([512, 128], 0, 1, "float32", 1);
      const b = tf.randomNormal([128, 128], 0, 1, "float32", 2);
      const x = tf.randomNormal([8, 16, 16, 16], 0, 1, "float32", 3);
      const w = tf.randomNormal([3, 3, 16, 16], 0, 1, "float32", 4);
      const convStep = tf.grads((x, w) => tf.conv2d(x, w, 1, "same").square().sum());
      const checksum = () => tf.tidy(() => {
        let s = [];
        for (let i = 0; i < 20; i++) s = [tf.matMul(a, b).sum()];
        const [dx, dw] = convStep([x, w]);
        return [...s, tf.conv2d(x, w, 1, "same").sum(), dx.sum(), dw.sum()].map((t) => t.dataSync()[0]);
      });
      const first = checksum();
      for (let r = 1; r < ${rounds}; r++) {
        const c = checksum();
        if (c.some((v, i) => !Object.is(v, first[i]))) throw new Error("round " + r + ": " + c + " vs " + first);
      }
      console.log(JSON.stringify({ ok: true, threads: info.native.threads, first }));
    });`;

describe("native kernels under signals (the oneDNN GEMM stack-pointer bug)", () => {
  let skip: string | false = false;
  before(async () => {
    await setup();
    skip = nativeKernelsInstalled() ? false : `native kernels unavailable: ${nativeKernelsUnavailableReason()}`;
  });

  for (const threads of [1, 2]) {
    it(`products and convolutions under node --cpu-prof (SIGPROF every 50 µs), ${threads} thread(s): no crash, same results`, (t) => {
      if (skip) return t.skip(skip);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-sigprof-"));
      try {
        const env = { ...process.env };
        delete env.OMP_NUM_THREADS; // the child sizes its own pool
        const r = spawnSync(process.execPath, ["--cpu-prof", "--cpu-prof-interval", "50", "--cpu-prof-dir", dir, "-e", child(threads, 150)], {
          encoding: "utf8",
          timeout: 120_000,
          env,
        });
        assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
        assert.equal(r.status, 0, `child exit ${r.status}: ${r.stderr.slice(-2000)}`);
        const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { ok: boolean; threads: number; first: number[] };
        assert.equal(out.ok, true);
        assert.equal(out.threads, threads);
        assert.ok(out.first.every(Number.isFinite), `finite checksums: ${out.first}`);
        assert.ok(fs.readdirSync(dir).some((f) => f.endsWith(".cpuprofile")), "the profiler ran and wrote its profile");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
