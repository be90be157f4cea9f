/**
 * tools/notebooks/install-kernel.js and the user's `tslab` kernelspec: setup in one checkout never silently
 * repoints a kernelspec that runs another existing checkout (or one the project did not write); it writes it when
 * there is none, when it is this checkout's, or when the checkout it ran is gone; --force takes it over.
 */
import { after, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";

fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const scratch = fs.mkdtempSync(path.join(ROOT, ".tmp", "install-kernel-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const dataDir = path.join(scratch, "data");
const specFile = path.join(dataDir, "kernels", "tslab", "kernel.json");

function install(...args: string[]): string {
  const r = spawnSync(process.execPath, [path.join(ROOT, "tools", "notebooks", "install-kernel.js"), "--user", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    // without Jupyter on PATH (it would only list the kernelspecs, at a second of Python start-up per call)
    env: { ...process.env, JUPYTER_DATA_DIR: dataDir, PATH: scratch },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}
const userRoot = (): unknown => (JSON.parse(fs.readFileSync(specFile, "utf8")) as { metadata?: Record<string, { root?: string }> }).metadata?.["score-sde-ts"]?.root;
function plant(root: string | null): void {
  fs.mkdirSync(path.dirname(specFile), { recursive: true });
  const metadata = root === null ? {} : { "score-sde-ts": { root } };
  fs.writeFileSync(specFile, JSON.stringify({ argv: ["elsewhere"], display_name: "TypeScript (tslab)", language: "typescript", metadata }));
}

it("the user kernelspec: written when absent or ours, kept for another live checkout or a foreign one, taken with --force", () => {
  install();
  assert.equal(userRoot(), ROOT, "written when there was none");

  // another checkout that exists: kept, and the message says how to use this one
  const other = path.join(scratch, "other-checkout");
  fs.mkdirSync(path.join(other, "tools", "notebooks"), { recursive: true });
  fs.writeFileSync(path.join(other, "tools", "notebooks", "kernel-main.js"), "");
  plant(other);
  const out = install();
  assert.equal(userRoot(), other);
  assert.match(out, new RegExp(`kept the tslab kernelspec .*it runs the checkout ${other.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  assert.match(out, /JUPYTER_PATH=.*jupyter/);

  install("--force");
  assert.equal(userRoot(), ROOT, "--force takes it over");

  // a checkout that no longer exists: replaced, and said so
  plant(path.join(scratch, "deleted-checkout"));
  assert.match(install(), /which no longer exists/);
  assert.equal(userRoot(), ROOT);

  // not written by this project: kept
  plant(null);
  assert.match(install(), /not written by this project/);
  assert.equal(userRoot(), undefined);
});
