/**
 * Quick mode of notebook 08's MNIST comparison (notebooks/experiments/solversMnist.ts): a couple of samples per
 * setting from the committed model, in resumable chunks, scored by FD against the test split. Checks the chunk
 * layout, that a second run reads the chunks back instead of drawing them (same bytes, same FD), that a chunk drawn
 * with other settings is refused by name, and the argument checks.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setup } from "../helpers";
import { runMnistSolverComparison, parseSettings, settingLabel } from "../../notebooks/experiments/solversMnist";
import { loadPretrained, pretrainedNames } from "../../notebooks/experiments/pretrained";

before(setup);

describe("MNIST solver comparison (quick mode: n tiny)", () => {
  it("draws chunks, reuses them on a second run, refuses chunks of other settings; FD finite and ≥ 0", async (t) => {
    if (!pretrainedNames().includes("mnist-vp")) return t.skip("no committed mnist-vp model");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mnist-solvers-"));
    const m = loadPretrained("mnist-vp");
    try {
      const settings = [{ solver: "dpm_solver_pp_2m", steps: 2 }];
      const opts = { model: m, settings, n: 3, chunk: 2, seed: 1, dir, chunkDir: path.join(dir, "chunks"), testCount: 40 };
      const t0 = Date.now();
      const a = await runMnistSolverComparison(opts);
      const first = (Date.now() - t0) / 1000;
      const folder = path.join(dir, "chunks", `mnist-vp-step${m.step}`, settingLabel(settings[0]));
      assert.deepEqual(fs.readdirSync(folder).sort(), ["chunk-0000.json", "chunk-0000.npy", "chunk-0001.json", "chunk-0001.npy"]);
      assert.equal(a.rows.length, 1);
      const row = a.rows[0];
      assert.equal(row.nfe, 3, "2 steps of DPM-Solver++(2M) + the denoising step");
      assert.ok(Number.isFinite(row.fd) && row.fd >= 0 && Number.isFinite(a.trainFloorFd) && a.trainFloorFd >= 0, JSON.stringify(a));
      assert.ok(fs.existsSync(path.join(dir, "mnist_mnist-vp.csv")));
      t.diagnostic(`first run ${first.toFixed(1)} s, sampling ${(row.secondsPerSample * row.n).toFixed(1)} s for ${row.n} samples at NFE ${row.nfe}; FD ${row.fd.toFixed(2)}, train floor ${a.trainFloorFd.toFixed(2)}`);
      const bytes = fs.readFileSync(path.join(folder, "chunk-0001.npy"));
      const b = await runMnistSolverComparison(opts);
      assert.deepEqual(b.rows, a.rows, "the second run reads the same chunks back");
      assert.ok(fs.readFileSync(path.join(folder, "chunk-0001.npy")).equals(bytes));
      await assert.rejects(runMnistSolverComparison({ ...opts, seed: 2 }), /chunk-0000\.json: drawn with other settings/);
    } finally {
      m.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects bad arguments by name", async () => {
    const base = { model: "mnist-vp", settings: [{ solver: "ddim", steps: 2 }], n: 4 };
    await assert.rejects(runMnistSolverComparison({ ...base, n: 1 }), /n = 1; must be an integer ≥ 2/);
    await assert.rejects(runMnistSolverComparison({ ...base, settings: [{ solver: "nope", steps: 2 }] }), /nope/);
    await assert.rejects(runMnistSolverComparison({ ...base, settings: [{ solver: "ddim", steps: 0 }] }), /steps = 0 for ddim/);
    assert.throws(() => parseSettings("ddim:x"), /"ddim:x" is not solver:K/);
    assert.deepEqual(parseSettings("ddim:20,heun:10:karras"), [{ solver: "ddim", steps: 20 }, { solver: "heun", steps: 10, gridKind: "karras" }]);
    assert.deepEqual(parseSettings("ddim:100:eta=1,edm_stochastic:50:karras:sChurn=5:sNoise=1.007"), [
      { solver: "ddim", steps: 100, options: { eta: 1 } },
      { solver: "edm_stochastic", steps: 50, gridKind: "karras", options: { sChurn: 5, sNoise: 1.007 } },
    ]);
    assert.throws(() => parseSettings("ddim:10:eta=x"), /"eta=x" is not option=number/);
    assert.throws(() => parseSettings("ddim:10:eta="), /"eta=" is not option=number/);
    assert.throws(() => parseSettings("ddim:10:eta=1:karras"), /grid kind \("karras"\) must come right after K/);
  });
});
