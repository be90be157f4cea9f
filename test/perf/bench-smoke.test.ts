/**
 * `npm run bench` keeps working against the current library: the driver's --smoke mode (tiny sizes, one run, no
 * PyTorch) runs the tfjs side of two workloads, with and without the native kernels, and writes its JSON rows.
 * Timings are not checked (speed lives in the benchmark, not in tests).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT } from "../helpers";

describe("bench driver", () => {
  it("--smoke runs the tfjs workloads and writes rows with the documented fields", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-")), "rows.json");
    const r = spawnSync(process.execPath, [path.join(ROOT, "tools/bench/run.js"), "--smoke", "--no-peer", "--threads=1", "--wasm-kernels", "--only=mlp_train,unet_train", `--out=${out}`], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `bench exited ${r.status}: ${r.stderr}\n${r.stdout}`);
    const rows = JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, unknown>[];
    // mlp_train ×2 widths and unet_train ×2 (default, no checkpointing), each also as the wasm-kernels variant.
    assert.equal(rows.length, 8, JSON.stringify(rows.map((x) => x.label)));
    for (const row of rows) {
      for (const k of ["workload", "params", "backend", "threads", "ms_median", "ms_min", "runs", "peer", "peer_ms_median", "ratio"]) {
        assert.ok(k in row, `row ${row.label} lacks ${k}`);
      }
      assert.equal(row.error, undefined, `row ${row.label}: ${row.error}`);
      assert.ok(typeof row.ms_median === "number" && row.ms_median > 0, `row ${row.label} has a time`);
      assert.equal(row.peer, null, "no PyTorch with --no-peer");
      // The machine on every row: model name, vendor/family/model numbers (both AMD kinds are named "AMD EPYC"), ISA.
      for (const k of ["cpu", "cpu_id", "isa"]) assert.ok(typeof row[k] === "string" && (row[k] as string).length > 0, `row ${row.label} lacks ${k}`);
      if (fs.existsSync("/proc/cpuinfo") && fs.readFileSync("/proc/cpuinfo", "utf8").includes("cpu family")) assert.match(row.cpu_id as string, /^\S+ family \d+ model \d+$/);
    }
    assert.equal(rows.filter((x) => x.variant !== undefined).length, 4, "one wasm-kernels row per workload");
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  it("--settle (the pause before a run that follows the other process's) refuses what is not milliseconds >= 0", () => {
    for (const bad of ["-5", "soon", ""]) {
      const r = spawnSync(process.execPath, [path.join(ROOT, "tools/bench/run.js"), "--smoke", "--no-peer", `--settle=${bad}`], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 2, `--settle=${bad}: exit ${r.status}`);
      assert.match(r.stderr, new RegExp(`--settle must be a number of milliseconds >= 0, got "${bad}"`));
    }
  });
});
