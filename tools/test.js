#!/usr/bin/env node
// The whole test suite, as `npm test` and .ci/run call it:
//   1. type-check and compile lib/, test/, tools/ and notebooks/experiments/ with tsc (strict, tools/tsc.js) into build/;
//   2. run every compiled *.test.js under build/test with node's built-in test runner.
// Arguments are name filters: `npm test -- sde rng` runs only test files whose path contains "sde" or "rng".
// Notebook cell tests live in test/nb/ and are compiled and run the same way (quick mode, see tools/notebooks).
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
};

// One run at a time per checkout: a second `npm test` would delete and rewrite build/ under the first one's feet.
// The lock is a folder (mkdir is atomic) holding the owner's pid; a lock whose owner is dead is taken over.
const lockDir = path.join(root, "build", ".test-lock");
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
};
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
fs.mkdirSync(path.join(root, "build"), { recursive: true });
for (let said = false; ; ) {
  try {
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
    break;
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
    const owner = Number(fs.existsSync(path.join(lockDir, "pid")) ? fs.readFileSync(path.join(lockDir, "pid"), "utf8") : NaN);
    if (Number.isInteger(owner) && !alive(owner)) {
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!said) console.error(`npm test: waiting for another test run in this checkout (pid ${owner}) to finish…`);
    said = true;
    sleep(500);
  }
}
const releaseLock = () => fs.rmSync(lockDir, { recursive: true, force: true });
process.on("exit", releaseLock);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));

const t0 = Date.now();
fs.rmSync(path.join(root, "build", "test"), { recursive: true, force: true });
if (run(process.execPath, [path.join(root, "tools", "tsc.js")]) !== 0) {
  console.error("tsc failed: fix the type errors above first.");
  process.exit(1);
}

// Optional freshness checks registered by other tools (e.g. the notebook test exporter's --check).
const checks = [path.join(root, "tools", "notebooks", "export-tests.js")];
for (const script of checks) {
  if (fs.existsSync(script) && run(process.execPath, [script, "--check"]) !== 0) {
    console.error(`${path.relative(root, script)} --check failed.`);
    process.exit(1);
  }
}

const filters = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".test.js")) files.push(p);
  }
};
walk(path.join(root, "build", "test"));
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (selected.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const env = { ...process.env, SCORE_SDE_QUICK: process.env.SCORE_SDE_QUICK ?? "1" };
const status = run(process.execPath, ["--test", "--test-concurrency=2", ...selected], { env });
console.error(`test suite finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(status);
