/**
 * `npm run train-toy` never touches the committed results unless asked, and never reports a run that trained
 * nothing (issue #12, item 4). Each case is refused before any training or backend start-up, so the CLI runs in a few
 * seconds; the run folders are temporary.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createToyMLP } from "../lib/models";
import { saveCheckpoint, variableTable } from "../lib/train";
import { ROOT, runTool, setup } from "./helpers";

before(setup);

const cli = (args: string[]) => runTool("train-toy.ts", args, 120_000);

describe("train-toy CLI: run folders and refusals", () => {
  it("--steps below the checkpoint's step is refused with the step and what to do", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "train-toy-"));
    try {
      const m = createToyMLP({ dim: 2, width: 8, depth: 1, seed: 1 });
      saveCheckpoint(path.join(out, "checkpoints", "VP.ckpt"), {
        step: 4000,
        modelConfig: m.getConfig(),
        variables: variableTable(m),
        trainableCount: m.trainableVariables.length,
        params: m.stateVariables.map((s) => Float32Array.from(s.variable.dataSync() as Float32Array)),
        config: {},
      });
      m.dispose();
      const r = cli(["--sde", "VP", "--steps", "50", "--out", out]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /--steps 50 is below the step of the checkpoint .*VP\.ckpt \(4000\): it would train nothing\. Pass --steps ≥ 4000 to continue it, --fresh/);
      assert.deepEqual(fs.readdirSync(out), ["checkpoints"], "nothing written");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("the committed results folder is written only with --commit-results, and never with mixed settings", () => {
    const committed = path.join(ROOT, "data", "results", "training");
    const before = fs.readFileSync(path.join(committed, "toy-acceptance.json"), "utf8");
    const r = cli(["--sde", "VP", "--steps", "10", "--out", committed]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is the committed results folder; pass --commit-results to write there/);
    // The committed acceptance table holds rows made without recorded settings: a partial --commit-results run is
    // refused rather than mixing a differently sized evaluation into it.
    const r3 = cli(["--commit-results", "--sde", "VP", "--steps", "4000", "--samples", "100"]);
    assert.notEqual(r3.status, 0);
    assert.match(r3.stderr, /holds rows \(VE, subVP\) made with other settings .*one table never mixes settings/);
    assert.equal(fs.readFileSync(path.join(committed, "toy-acceptance.json"), "utf8"), before);
  });
});
