/**
 * The headless notebook runner (tools/notebooks/run.js) end to end, on the real tslab kernel: a failing cell makes
 * it exit non-zero with the cell's source and error, a cell over the time limit is interrupted, and a good notebook
 * is written back with its outputs (multi-mime plotly bundle, HTML table, stdout), and — when Chromium is installed —
 * a PNG in the bundle plus PNG/SVG/JSON files.
 *
 * Fixture notebooks live in test/nb/fixtures; each test copies them into a scratch folder under .tmp/ (inside the
 * repository so the kernel finds node_modules) next to a `lib -> <repo>/lib` symlink, as notebooks/ has.
 */
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";
import { chromiumPath } from "../../lib/viz";

fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const scratch = fs.mkdtempSync(path.join(ROOT, ".tmp", "nb-runner-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Output {
  output_type: string;
  name?: string;
  text?: string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  execution_count?: number | null;
  outputs?: Output[];
}

function prepare(name: string): { nb: string; out: string } {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, "lib"))) fs.symlinkSync(path.join(ROOT, "lib"), path.join(dir, "lib"));
  const nb = path.join(dir, `${name}.ipynb`);
  fs.copyFileSync(path.join(ROOT, "test", "nb", "fixtures", `${name}.ipynb`), nb);
  return { nb, out: path.join(dir, "out") };
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, "tools", "notebooks", "run.js"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function codeCells(file: string): Cell[] {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: Cell[] };
  return nb.cells.filter((c) => c.cell_type === "code");
}

describe("notebook runner", { concurrency: false }, () => {
  it("exits non-zero on a failing cell and prints its source and full error", () => {
    const { nb, out } = prepare("broken");
    const r = run([nb, "--quick", "--no-figures", `--out=${out}`, "--quiet"]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /FAILED broken at code cell 2\/3/);
    assert.match(r.stderr, /\|\s+check\(answer\);/, "the failing cell's source is printed");
    assert.match(r.stderr, /RangeError: deliberately broken: expected 41, got 42/);
    const cells = codeCells(path.join(out, "broken.ipynb"));
    assert.deepEqual(cells[0].outputs?.[0].text, ["answer = 42\n"]);
    const err = cells[1].outputs?.find((o) => o.output_type === "error");
    assert.equal(err?.ename, "RangeError");
    assert.equal(err?.evalue, "deliberately broken: expected 41, got 42");
    assert.equal(cells[2].execution_count, null, "cells after the failure are not run");
    assert.deepEqual(cells[2].outputs, []);
  });

  it("interrupts a cell that runs past --timeout", () => {
    const { nb, out } = prepare("slow");
    const t0 = Date.now();
    const r = run([nb, "--quick", "--no-figures", `--out=${out}`, "--timeout=3"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ran longer than the limit of 3 s/);
    assert.ok(Date.now() - t0 < 90_000, "the runner did not wait for the 120 s cell");
  });

  it("writes a good notebook back with its outputs and exits 0", () => {
    const { nb, out } = prepare("ok");
    const figs = path.join(scratch, "figures");
    const withFigures = chromiumPath() !== undefined;
    const r = run([nb, "--quick", `--out=${out}`, `--figures-dir=${figs}`, ...(withFigures ? [] : ["--no-figures"])]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const cells = codeCells(path.join(out, "ok.ipynb"));
    assert.deepEqual(cells[0].outputs?.[0].text, ["quick=true\n"]);
    const fig = cells[1].outputs?.[0];
    assert.equal(fig?.output_type, "display_data");
    const data = fig?.data ?? {};
    assert.deepEqual(Object.keys(data).sort(), withFigures ? ["application/vnd.plotly.v1+json", "image/png", "text/plain"] : ["application/vnd.plotly.v1+json", "text/plain"]);
    assert.deepEqual((data["application/vnd.plotly.v1+json"] as { data: { y: number[] }[] }).data[0].y, [1, 3, 2]);
    assert.deepEqual(fig?.metadata, { "score-sde-ts": { figure: "fixture_line" }, "image/png": { width: 640, height: 400 } });
    if (withFigures) {
      assert.ok(Buffer.from(data["image/png"] as string, "base64").subarray(1, 4).equals(Buffer.from("PNG")));
      for (const ext of ["png", "svg", "json"]) assert.ok(fs.statSync(path.join(figs, "ok", `fixture_line.${ext}`)).size > 100, ext);
    }
    const table = cells[2].outputs?.[0].data ?? {};
    assert.match((table["text/html"] as string[]).join(""), /<td>0\.125<\/td>/);
    assert.deepEqual(cells[3].outputs?.[0].text, ["2\n"]);
    assert.deepEqual(cells.map((c) => c.execution_count), [1, 2, 3, 4]);
  });

  it("without Chromium it still succeeds, keeps the plotly figure and says why there is no PNG", () => {
    const { nb, out } = prepare("ok");
    const r = run([nb, "--quick", `--out=${out}`, `--figures-dir=${path.join(scratch, "nofigs")}`, "--quiet"], { SCORE_SDE_CHROMIUM: "/nonexistent/chromium" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /no Chromium found .* figures stay plotly JSON only/);
    const data = codeCells(path.join(out, "ok.ipynb"))[1].outputs?.[0].data ?? {};
    assert.deepEqual(Object.keys(data).sort(), ["application/vnd.plotly.v1+json", "text/plain"]);
    assert.equal(fs.existsSync(path.join(scratch, "nofigs")), false);
  });
});
