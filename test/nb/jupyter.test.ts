/**
 * The kernelspec with Jupyter's own tools (Debian's jupyter-core / jupyter-client / jupyter-nbconvert, installed by
 * tools/setup-debian.sh): `jupyter kernelspec list` shows "tslab", and `jupyter nbconvert --execute` runs a notebook
 * on it. Skipped when Jupyter is not installed (the headless runner needs none of it).
 */
import { after, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";

const hasJupyter = spawnSync("jupyter", ["nbconvert", "--version"], { encoding: "utf8" }).status === 0;
fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", "nb-jupyter-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it("jupyter kernelspec list and nbconvert --execute use the tslab kernelspec", { skip: hasJupyter ? false : "jupyter nbconvert is not installed" }, () => {
  // The project-local kernelspec (what setup writes); --no-user: a test must not touch the user's Jupyter.
  assert.equal(spawnSync(process.execPath, [path.join(ROOT, "tools", "notebooks", "install-kernel.js"), "--no-user", "--quiet"]).status, 0);
  const env = { ...process.env, JUPYTER_PATH: path.join(ROOT, "jupyter"), SCORE_SDE_RENDER: "none", SCORE_SDE_QUICK: "1" };
  const list = spawnSync("jupyter", ["kernelspec", "list"], { encoding: "utf8", env });
  assert.match(list.stdout, new RegExp(`tslab\\s+${path.join(ROOT, "jupyter", "kernels", "tslab").replace(/[/.]/g, "\\$&")}`));

  fs.symlinkSync(path.join(ROOT, "lib"), path.join(dir, "lib"));
  fs.copyFileSync(path.join(ROOT, "test", "nb", "fixtures", "ok.ipynb"), path.join(dir, "ok.ipynb"));
  const r = spawnSync("jupyter", ["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=300", "--output-dir=out", "ok.ipynb"], {
    cwd: dir,
    encoding: "utf8",
    env,
    timeout: 400_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const nb = JSON.parse(fs.readFileSync(path.join(dir, "out", "ok.ipynb"), "utf8")) as {
    cells: { cell_type: string; outputs?: { output_type: string; text?: string[] | string; data?: Record<string, unknown> }[] }[];
  };
  const code = nb.cells.filter((c) => c.cell_type === "code");
  assert.equal([code[0].outputs?.[0].text ?? ""].flat().join(""), "quick=true\n");
  assert.ok(code[1].outputs?.[0].data?.["application/vnd.plotly.v1+json"], "the plotly figure bundle came through nbclient");
});
