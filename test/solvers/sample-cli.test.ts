/** `npm run sample -- --toy …` (tools/sample/toy.ts): argument validation and the files it writes. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeNpy } from "../../lib/io";
import { main, parseToyArgs } from "../../tools/sample/toy";
import { setup, tempDir } from "../helpers";

before(setup);

const dir = tempDir("sample-toy-");
const base = ["--toy", "eight-gaussians", "--sde", "vp", "--sampler", "dpm_solver_pp_2m", "--steps", "20", "--n", "2000", "--seed", "0", "--out", path.join(dir, "x.npy")];
const without = (flag: string) => base.filter((_, i) => base[i] !== flag && base[i - 1] !== flag);
const withValue = (flag: string, v: string) => base.map((a, i) => (base[i - 1] === flag ? v : a));

describe("sample --toy", () => {
  it("writes a float32 NPY [N, 2], a PNG scatter and a JSON record; the same seed gives the same file", async () => {
    await main(base);
    const a = decodeNpy(fs.readFileSync(path.join(dir, "x.npy")), "x.npy");
    assert.equal(a.dtype, "float32");
    assert.deepEqual(a.shape, [2000, 2]);
    const info = JSON.parse(fs.readFileSync(path.join(dir, "x.json"), "utf8"));
    assert.equal(info.nfe, 20);
    assert.equal(info.grid, "logsnr");
    assert.deepEqual([...fs.readFileSync(path.join(dir, "x.png")).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
    // The samples sit around the ring of the eight modes.
    let r = 0;
    for (let i = 0; i < 2000; i++) r += Math.hypot(a.data[2 * i], a.data[2 * i + 1]) / 2000;
    assert.ok(r > 1 && r < 3, `mean radius ${r}`);
    const first = fs.readFileSync(path.join(dir, "x.npy"));
    await main(withValue("--out", path.join(dir, "y.npy")).concat("--no-png"));
    assert.ok(first.equals(fs.readFileSync(path.join(dir, "y.npy"))));
    assert.ok(!fs.existsSync(path.join(dir, "y.png")));
  });

  it("the PC baseline and the stochastic solvers run too", async () => {
    const args = (sde: string, sampler: string, steps: number, extra: string[] = []) =>
      ["--toy", "eight-gaussians", "--sde", sde, "--sampler", sampler, "--steps", String(steps), "--n", "64", "--seed", "1", "--out", path.join(dir, "z.npy"), ...extra];
    await main(args("vp", "pc", 50));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "z.json"), "utf8")).nfe, 100);
    await main(args("ve", "edm_stochastic", 10, ["--grid", "karras"]));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "z.json"), "utf8")).nfe, 20);
  });

  it("refuses bad arguments with the flag, the value and what is allowed", () => {
    assert.throws(() => parseToyArgs(withValue("--toy", "two-moons")), /--toy = "two-moons" is not allowed; --toy must be one of eight-gaussians, grid-gaussians, anisotropic-mixture \(the toys with an exact score\)/);
    assert.throws(() => parseToyArgs(withValue("--sde", "vpp")), /--sde = "vpp" is not allowed; --sde must be ve, vp or subvp/);
    assert.throws(() => parseToyArgs(withValue("--sampler", "dpm3")), /--sampler = "dpm3" is not allowed; --sampler must be pc or one of ddim, /);
    assert.throws(() => parseToyArgs(withValue("--steps", "0")), /--steps = "0" is not allowed; --steps must be an integer in \[1, 100000\]/);
    assert.throws(() => parseToyArgs(withValue("--n", "2.5")), /--n = "2.5" is not allowed/);
    assert.throws(() => parseToyArgs(withValue("--out", path.join(dir, "x.csv"))), /--out = ".*x.csv" is not allowed; --out must be a file name ending in .npy/);
    assert.throws(() => parseToyArgs(withValue("--out", "/no/such/dir/x.npy")), /--out must be in an existing folder/);
    assert.throws(() => parseToyArgs(without("--seed")), /--seed = undefined is not allowed; --seed must be given/);
    assert.throws(() => parseToyArgs([...base, "--grid", "cosine"]), /--grid = "cosine" is not allowed; --grid must be one of uniform, logsnr, karras, quadratic/);
    assert.throws(() => parseToyArgs([...base, "--stpes", "3"]), /argument = "--stpes" is not allowed/);
    assert.throws(() => parseToyArgs([...base, "--eps", "0"]), /--eps = "0" is not allowed; --eps must be a number in \(0, 1\)/);
    assert.throws(() => parseToyArgs(base.concat("--steps", "5")), /--steps = "5" is not allowed; --steps must be given once/);
    assert.deepEqual(parseToyArgs(withValue("--toy", "eightGaussians")).toy, "eight-gaussians");
  });
});
