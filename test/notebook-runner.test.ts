/**
 * The headless notebook runner (tools/notebooks/run.js) loses nothing and leaves nothing behind (issue #12):
 * SIGINT, SIGTERM and SIGKILL to the runner, and SIGKILL to `npm run notebooks`, leave no kernel process (checked in
 * the process table) and no temporary folder; a failing full-mode run leaves the committed notebook as it was and
 * writes its outputs to .executed/; an unreadable notebook is reported by name before any kernel starts; notebooks
 * are written as each finishes.
 *
 * Each run gets its own TMPDIR, so its kernel is the process whose command line holds that folder (the connection
 * file lives there) and its temporary folder is the score-sde-kernel-* entry there.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./helpers";
import { startChild, type Child } from "../tools/child";

const RUNNER = path.join(ROOT, "tools", "notebooks", "run.js");
let base: string;
before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-runner-test-"));
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

interface Cell {
  source: string;
  outputs?: unknown[];
}
function notebook(cells: Cell[]): string {
  return (
    JSON.stringify(
      {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: cells.map((c, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, source: c.source, outputs: c.outputs ?? [], execution_count: c.outputs ? i + 1 : null })),
      },
      null,
      1,
    ) + "\n"
  );
}
const HANG = notebook([{ source: "1 + 1" }, { source: "await new Promise((r) => setTimeout(r, 600000));" }]);

/** A scratch folder with its own TMPDIR; writes the given notebooks into it. */
function scratch(name: string, files: Record<string, string>): { dir: string; tmp: string } {
  const dir = path.join(base, name);
  const tmp = path.join(dir, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return { dir, tmp };
}

/** Processes whose command line mentions `needle` (the kernel's holds its connection file's folder). */
function processesWith(needle: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(needle) && !l.includes("ps -eo"))
    .filter((l) => !/^\s*\d+\s+Z/.test(l)); // zombies are already dead (waiting to be reaped)
}
const kernelDirs = (tmp: string) => fs.readdirSync(tmp).filter((f) => f.startsWith("score-sde-kernel-"));

type Run = Child;
const start = (cmd: string, args: string[], tmp: string): Run => startChild(cmd, args, { cwd: ROOT, env: { TMPDIR: tmp, SCORE_SDE_QUICK: "" } });
async function waitFor(what: string, cond: () => boolean, seconds: number, run?: Run): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > seconds * 1000) assert.fail(`timed out after ${seconds} s waiting for ${what}${run ? `; output so far:\n${run.out()}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
/** Waits until the run's kernel is inside the hanging cell, and returns the kernel's process lines. */
async function inHangingCell(run: Run, tmp: string): Promise<string[]> {
  await waitFor("cell 1 of the hanging notebook", () => /\[hang\] cell 1\/2 ok/.test(run.out()), 300, run);
  const procs = processesWith(tmp);
  assert.equal(procs.filter((l) => l.includes("kernel-main.js")).length, 1, `one kernel running: ${procs.join("\n")}`);
  assert.equal(kernelDirs(tmp).length, 1, "its temporary folder exists");
  return procs;
}
async function nothingLeft(tmp: string, run: Run): Promise<void> {
  await waitFor("no kernel process and no temporary folder", () => processesWith(tmp).length === 0 && kernelDirs(tmp).length === 0, 45, run);
}

describe("notebook runner: signals leave no kernel and no temporary folder", { concurrency: 2 }, () => {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    it(`${sig} to the runner stops the kernel, removes its folder, exits 128 + n`, async () => {
      const { dir, tmp } = scratch(sig, { "hang.ipynb": HANG });
      const run = start(process.execPath, [RUNNER, "--quick", path.join(dir, "hang.ipynb")], tmp);
      await inHangingCell(run, tmp);
      run.proc.kill(sig);
      const { code } = await run.exited;
      assert.equal(code, sig === "SIGINT" ? 130 : 143, run.out());
      assert.match(run.out(), new RegExp(`${sig} while running .*hang\\.ipynb \\(not written\\): kernel stopped, its temporary folder removed`));
      await nothingLeft(tmp, run);
    });
  }

  it("SIGKILL to the runner: the kernel notices its parent died, removes its folder and exits", async () => {
    const { dir, tmp } = scratch("SIGKILL", { "hang.ipynb": HANG });
    const run = start(process.execPath, [RUNNER, "--quick", path.join(dir, "hang.ipynb")], tmp);
    await inHangingCell(run, tmp);
    run.proc.kill("SIGKILL");
    assert.equal((await run.exited).signal, "SIGKILL");
    await nothingLeft(tmp, run);
  });

  it("SIGKILL to `npm run notebooks`: the runner left under npm's shell notices, stops the kernel and exits", async () => {
    const { dir, tmp } = scratch("npm-SIGKILL", { "hang.ipynb": HANG });
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const run = start(npm, ["run", "--silent", "notebooks", "--", "--quick", path.join(dir, "hang.ipynb")], tmp);
    await inHangingCell(run, tmp);
    run.proc.kill("SIGKILL");
    await run.exited;
    // The runner, npm's `sh -c` and the kernel all mention the notebook or the folder on their command lines.
    await waitFor("runner, shell and kernel gone", () => processesWith(tmp).length === 0 && processesWith(path.join(dir, "hang.ipynb")).length === 0, 45, run);
    await nothingLeft(tmp, run);
  });
});

describe("notebook runner: outputs", () => {
  it("an unreadable notebook is reported by file name before any kernel starts; nothing is run", async () => {
    const good = notebook([{ source: "1 + 1" }]);
    const { dir, tmp } = scratch("bad", { "good.ipynb": good, "truncated.ipynb": good.slice(0, 60), "old.ipynb": JSON.stringify({ nbformat: 3, cells: [] }), "empty.ipynb": "" });
    const files = ["good.ipynb", "truncated.ipynb", "old.ipynb", "empty.ipynb"].map((f) => path.join(dir, f));
    const run = start(process.execPath, [RUNNER, "--quick", ...files], tmp);
    const { code } = await run.exited;
    const out = run.out();
    assert.equal(code, 2, out);
    assert.match(out, /3 of 4 notebook\(s\) cannot be read; nothing was run/);
    assert.match(out, /notebook ".*truncated\.ipynb" is not valid JSON .*restore it with git/);
    assert.match(out, /notebook ".*old\.ipynb": nbformat 3 is not supported \(need 4\)/);
    assert.match(out, /notebook ".*empty\.ipynb" is empty/);
    assert.doesNotMatch(out, /cell 1/);
    assert.deepEqual(kernelDirs(tmp), []);
    assert.ok(!fs.existsSync(path.join(dir, ".executed")), "nothing written");
    assert.equal(fs.readFileSync(path.join(dir, "truncated.ipynb"), "utf8"), good.slice(0, 60));
  });

  it("a failing full run keeps the committed notebook; outputs go to .executed/ as soon as it finishes", async () => {
    const committed = notebook([
      { source: "1 + 1", outputs: [{ output_type: "execute_result", data: { "text/plain": ["2"] }, metadata: {}, execution_count: 1 }] },
      { source: "throw new Error('boom')", outputs: [{ output_type: "stream", name: "stdout", text: ["the committed result\n"] }] },
      { source: "console.log('later')", outputs: [{ output_type: "stream", name: "stdout", text: ["later\n"] }] },
    ]);
    const { dir, tmp } = scratch("full", { "failing.ipynb": committed, "hang.ipynb": HANG });
    const hangBefore = fs.readFileSync(path.join(dir, "hang.ipynb"), "utf8");
    const run = start(process.execPath, [RUNNER, "--full", "--no-figures", path.join(dir, "failing.ipynb"), path.join(dir, "hang.ipynb")], tmp);
    // The failed notebook is written (elsewhere) while the next one still runs.
    await inHangingCell(run, tmp);
    const executed = path.join(dir, ".executed", "failing.ipynb");
    assert.ok(fs.existsSync(executed), `written before the run ended:\n${run.out()}`);
    assert.match(run.out(), /partial outputs written to .*\.executed\/failing\.ipynb \(the committed .*failing\.ipynb was left as it was\)/);
    assert.equal(fs.readFileSync(path.join(dir, "failing.ipynb"), "utf8"), committed, "the committed notebook is byte for byte unchanged");
    const nb = JSON.parse(fs.readFileSync(executed, "utf8"));
    assert.match(JSON.stringify(nb.cells[1].outputs.find((o: { output_type: string }) => o.output_type === "error")), /Error: boom/);
    run.proc.kill("SIGTERM");
    await run.exited;
    assert.equal(fs.readFileSync(path.join(dir, "hang.ipynb"), "utf8"), hangBefore, "the interrupted notebook is untouched");
    assert.ok(!fs.existsSync(path.join(dir, ".executed", "hang.ipynb")), "and not written anywhere");
    await nothingLeft(tmp, run);
    // No temporary files of the atomic writes remain.
    assert.deepEqual(fs.readdirSync(path.join(dir, ".executed")), ["failing.ipynb"]);
  });
});
