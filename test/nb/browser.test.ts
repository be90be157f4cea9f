/**
 * The notebooks in a real browser, as a person uses them (tools/notebooks/browser.js): Debian's classic Jupyter
 * Notebook on a loopback port, Debian's Chromium through playwright-core, Kernel → Restart & Run All in quick mode;
 * no error output, every code cell run, figures and tables present, no MathJax errors. CI runs 01 (equations,
 * figures, tables) and 02 (the shortest); `npm run notebooks:browser -- --all` runs all of them.
 * Skipped, with the reason, where Chromium or the classic Notebook is not installed (tools/setup-debian.sh).
 */
import { it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "../helpers";

const tool = path.join(ROOT, "tools", "notebooks", "browser.js");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const why = (require(tool) as { missing(): string | null }).missing();

it("notebooks 01 and 02 run clean in classic Jupyter Notebook driven by Chromium", { skip: why ?? false, timeout: 900_000 }, () => {
  const r = spawnSync(process.execPath, [tool, "01", "02", "--timeout=400"], { cwd: ROOT, encoding: "utf8", timeout: 880_000, env: { ...process.env, SCORE_SDE_QUICK: "1" } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /browser test: 2\/2 notebooks passed/);
  assert.match(r.stdout, /^ok 01_forward_sdes\.ipynb: 10 code cells, [1-9]\d* figures, [1-9]\d* tables, [1-9]\d* typeset equations/m);
});
