/** The experiments behind notebooks 03–05 (notebooks/experiments): the paired comparisons, a real (small) PC run,
 * the result files and slerp. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { eightGaussians, hostMixtureScore } from "../lib/toy";
import {
  cachedResult,
  loadResult,
  loadToyModel,
  makeReference,
  paired,
  PAPER_TABLE5_SNR,
  PcRunRow,
  runPcConfig,
  slerp,
  summarize,
  table1Claims,
  table1Layout,
  saveResult,
  saveToyModel,
  toCsv,
  toyModelSpec,
  verdict,
} from "../notebooks/experiments";
import { createToyMLP } from "../lib/models";
import { setup } from "./helpers";

before(setup);

describe("paired comparisons and claims", () => {
  const row = (r: string, column: PcRunRow["column"], seed: number, ed: number): PcRunRow => ({
    sde: "VE", row: r, column, predictor: "x", corrector: "y", probabilityFlow: false, N: 1000, nSteps: 1, snr: 0, seed, samples: 10,
    energyDistance: ed, deltaCE: 0, varRatio: 1 + ed, weightTV: 0, nfe: 1, scoreEvals: 1, seconds: 0,
  });
  // Seed effects shared by both configurations cancel in the paired difference.
  const runs: PcRunRow[] = [];
  for (const seed of [0, 1, 2, 3, 4]) {
    const common = [5, 1, 9, 3, 7][seed];
    runs.push(row("reverse diffusion", "PC1000", seed, common + 0.1 * seed * 0.01), row("reverse diffusion", "P1000", seed, common + 1 + 0.01 * seed));
    runs.push(row("corrector only", "C2000", seed, common + 2));
  }

  it("paired difference removes the shared seed effect", () => {
    const c = paired(runs, "VE", ["reverse diffusion", "PC1000"], ["reverse diffusion", "P1000"], "energyDistance");
    assert.equal(c.seeds, 5);
    assert.ok(Math.abs(c.diffMean - -1.018) < 1e-9, `${c.diffMean}`);
    assert.equal(verdict(c), "holds");
    const rev = paired(runs, "VE", ["reverse diffusion", "P1000"], ["reverse diffusion", "PC1000"], "energyDistance");
    assert.equal(verdict(rev), "reversed");
  });

  it("an unresolved difference is not called", () => {
    assert.equal(verdict({ diffMean: -0.1, diffStd: 1, t: -0.2, seeds: 5 }), "not resolved");
    assert.equal(verdict({ diffMean: -1, diffStd: 0, t: -Infinity, seeds: 1 }), "not resolved");
  });

  it("claims and the paper layout are built from the runs present", () => {
    const claims = table1Claims(runs, "energyDistance");
    const pc = claims.find((c) => c.claim === "PC1000 beats P1000" && c.better.includes("reverse diffusion"));
    assert.ok(pc && pc.verdict === "holds");
    const c2 = claims.find((c) => c.claim === "PC1000 beats C2000" && c.better.includes("reverse diffusion"));
    assert.ok(c2 && c2.verdict === "holds" && c2.paperFid === "3.6 < 20.43");
    const layout = table1Layout(summarize(runs), (s) => s.edMean);
    const rd = layout.find((r) => r.predictor === "reverse diffusion")!;
    assert.equal(rd["VE C2000"], 7);
    assert.equal(rd["VP P1000"], "–");
  });
});

describe("runPcConfig", () => {
  it("samples the mixture with the library's pcSample and scores it (VP, reverse diffusion, P1000)", async () => {
    const mix = eightGaussians({ std: 0.2 });
    const ref = makeReference(mix, 2000, 1);
    const before = tf.memory().numTensors;
    const { row, samples } = await runPcConfig({ sde: "VP", row: "reverse diffusion", column: "P1000" }, 0, 300, ref, (sde) => hostMixtureScore(mix, sde));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(samples.length, 600);
    assert.equal(row.nfe, 2000); // official count N (nSteps + 1) with nSteps = 1
    assert.equal(row.scoreEvals, 1000);
    // An exact-score sampler: mode spread and balance close to the truth at 300 points.
    assert.ok(Math.abs(row.varRatio - 1) < 0.2, `varRatio ${row.varRatio}`);
    assert.ok(row.weightTV < 0.15, `TV ${row.weightTV}`);
    assert.ok(row.energyDistance < 0.02, `ED ${row.energyDistance}`);
  });
});

describe("the paper's constants", () => {
  it("Table 5's best snr values (read from the library's table1Settings)", () => {
    assert.deepEqual(PAPER_TABLE5_SNR, {
      VE: { C2000: 0.22, "ancestral sampling": 0.17, "reverse diffusion": 0.16, "probability flow": 0.17 },
      VP: { C2000: 0.27, "ancestral sampling": 0.01, "reverse diffusion": 0.01, "probability flow": 0.04 },
    });
  });
});

describe("results and helpers", () => {
  it("quick mode computes and writes nothing", async () => {
    let calls = 0;
    const r = await cachedResult("should_not_exist_quick", { a: 1 }, true, async () => ++calls, () => ({ "": [{ x: 1 }] }));
    assert.equal(calls, 1);
    assert.equal(r.reused, false);
    assert.deepEqual(r.files, []);
  });

  it("toCsv quotes what needs quoting", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "abl-"));
    const csv = toCsv([{ a: 1, b: "x,y" }, { a: 0.123456789, c: 'q"' }]);
    assert.equal(csv, 'a,b,c\n1,"x,y",\n0.123457,,"q"""\n');
    fs.rmSync(dir, { recursive: true });
  });

  it("slerp keeps the end points and interpolates norms", () => {
    assert.deepEqual(slerp([1, 0], [0, 2], 0).map((v) => Number(v.toFixed(12))), [1, 0]);
    assert.deepEqual(slerp([1, 0], [0, 2], 1).map((v) => Number(v.toFixed(12))), [0, 2]);
    const mid = slerp([1, 0], [0, 1], 0.5);
    assert.ok(Math.abs(Math.hypot(...mid) - 1) < 1e-12);
  });
});

describe("result files and the model store", () => {
  const withResultsDir = async (f: (dir: string) => Promise<void> | void): Promise<void> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "abl-results-"));
    const before = process.env.SCORE_SDE_RESULTS_DIR;
    process.env.SCORE_SDE_RESULTS_DIR = dir;
    try {
      await f(dir);
    } finally {
      if (before === undefined) delete process.env.SCORE_SDE_RESULTS_DIR;
      else process.env.SCORE_SDE_RESULTS_DIR = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it("saveResult writes complete files (no temporary left) that loadResult reads back for the same settings only", () =>
    withResultsDir((dir) => {
      const r = { experiment: "x", settings: { n: 3 }, backend: "wasm", createdAt: "now", wallSeconds: 1, payload: { v: [1, 2] } };
      const files = saveResult("x", r, { "": [{ a: 1 }] });
      assert.deepEqual(files.map((f) => path.basename(f)), ["x.json", "x.csv"]);
      assert.deepEqual(fs.readdirSync(dir).sort(), ["x.csv", "x.json"]);
      assert.deepEqual(loadResult("x", { n: 3 })?.payload, { v: [1, 2] });
      assert.equal(loadResult("x", { n: 4 }), undefined);
    }));

  it("a truncated result file is reported by name with what to do", () =>
    withResultsDir((dir) => {
      const f = path.join(dir, "y.json");
      fs.writeFileSync(f, '{"experiment": "y", "settings": {"n"');
      assert.throws(() => loadResult("y", {}), (e: Error) => e.message.includes(JSON.stringify(f)) && /not valid JSON/.test(e.message) && /regenerate/.test(e.message));
      fs.writeFileSync(f, "");
      assert.throws(() => loadResult("y", {}), /is empty .*regenerate/);
    }));

  it("a stored model round-trips through the checkpoint module; another spec is not loaded; a truncated file is named", () =>
    withResultsDir((dir) => {
      const spec = toyModelSpec("VP", 1, true);
      const model = createToyMLP({ dim: 2, width: spec.width, depth: spec.depth, embedding: "positional", embeddingDim: 32, seed: 1 });
      const file = path.join(dir, "models", "VP_seed1.ckpt");
      saveToyModel(file, model, { spec, lossCurve: [{ step: 1, loss: 0.5 }], trainSeconds: 2, backend: "wasm", createdAt: "now" });
      const back = loadToyModel(file, spec);
      assert.ok(back);
      assert.deepEqual(back.stored.lossCurve, [{ step: 1, loss: 0.5 }]);
      model.stateVariables.forEach((s, i) => assert.deepEqual(back.model.stateVariables[i].variable.dataSync(), s.variable.dataSync()));
      back.model.dispose();
      assert.equal(loadToyModel(file, { ...spec, steps: spec.steps + 1 }), undefined);
      fs.truncateSync(file, 500);
      assert.throws(() => loadToyModel(file, spec), (e: Error) => e.message.includes(file) && /truncated/.test(e.message));
      model.dispose();
    }));
});
