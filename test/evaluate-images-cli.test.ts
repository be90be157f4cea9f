/**
 * tools/evaluate-images.ts resumes a stopped evaluation from its chunks (a PC N = 1000 evaluation of 1000 samples
 * spans sittings), refuses to mix in chunks drawn with other settings, and keeps an existing report unless --force
 * (issue #14; issue #12's "nothing is lost"). Tiny sizes: 2 samples in 2 chunks, 30 PC steps, no bits/dim.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readNpy } from "../lib/io";
import { ROOT, runTool, setup } from "./helpers";

before(setup);

const cli = (args: string[]) => runTool("evaluate-images.ts", args, 300_000);

describe("evaluate-images CLI: resumable chunks", () => {
  it("reuses finished chunks, redraws a missing one identically, refuses other settings and an existing report", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eval-images-"));
    try {
      const base = ["--model", "mnist-vp", "--n", "2", "--chunk", "1", "--steps", "30", "--bpd-images", "0", "--work", path.join(dir, "work")];
      const first = cli([...base, "--out", path.join(dir, "a")]);
      assert.equal(first.status, 0, first.stderr);
      const chunks = path.join(dir, "work", "chunks");
      assert.deepEqual(fs.readdirSync(chunks).sort(), ["chunk-0000.json", "chunk-0000.npy", "chunk-0001.json", "chunk-0001.npy"]);
      const c1 = readNpy(path.join(chunks, "chunk-0001.npy"));
      assert.deepEqual(c1.shape, [1, 28, 28, 1]);
      const report = JSON.parse(fs.readFileSync(path.join(dir, "a", "report.json"), "utf8"));

      // A stop after chunk 0: chunk 1 is drawn again from its own seed, chunk 0 is read, the scores are the same.
      const kept = fs.statSync(path.join(chunks, "chunk-0000.npy")).mtimeMs;
      fs.rmSync(path.join(chunks, "chunk-0001.npy"));
      fs.rmSync(path.join(chunks, "chunk-0001.json"));
      const resumed = cli([...base, "--out", path.join(dir, "a"), "--force"]);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.equal(fs.statSync(path.join(chunks, "chunk-0000.npy")).mtimeMs, kept);
      assert.deepEqual(Array.from(readNpy(path.join(chunks, "chunk-0001.npy")).data), Array.from(c1.data));
      const again = JSON.parse(fs.readFileSync(path.join(dir, "a", "report.json"), "utf8"));
      assert.equal(again.scores.model.fd, report.scores.model.fd);

      const noForce = cli([...base, "--out", path.join(dir, "a")]);
      assert.notEqual(noForce.status, 0);
      assert.match(noForce.stderr, /report\.json exists; pass --force/);

      const other = cli([...base.map((v) => (v === "30" ? "40" : v)), "--out", path.join(dir, "b")]);
      assert.notEqual(other.status, 0);
      assert.match(other.stderr, /chunk-0000\.json: drawn with other settings/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
