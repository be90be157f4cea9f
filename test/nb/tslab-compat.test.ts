/**
 * Every lib/ module must also compile in the notebook kernel, whose TypeScript (tslab's 5.0) and settings differ
 * from npm test's tsc: ES modules, ES2022 lib without DOM typings, Node10 resolution. tools/notebooks/tslab-check.js
 * hands tslab's own converter a cell importing all of lib through notebooks/lib, exactly as a notebook does.
 */
import { it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "../helpers";

it("lib/ compiles in the tslab notebook kernel", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "tools", "notebooks", "tslab-check.js")], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, `tslab rejects lib/ (what a notebook importing it would print):\n${r.stderr}${r.stdout}`);
  assert.match(r.stdout, /0 diagnostic\(s\)/);
});
