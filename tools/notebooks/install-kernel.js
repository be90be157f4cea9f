#!/usr/bin/env node
// Registers the tslab (TypeScript) Jupyter kernel without `tslab install`, which shells out to Python and needs
// IPython (not available from Debian without pulling in a lot, and PyPI is unreachable here).
//
// A kernelspec is just a folder with a kernel.json naming the command Jupyter starts. We write it
//   1. project-locally to jupyter/kernels/tslab/ (absolute paths, so jupyter/ is git-ignored); use it with
//      JUPYTER_PATH=$PWD/jupyter — the headless runner (tools/notebooks/run.js) reads it from there;
//   2. to the user's Jupyter data dir ($JUPYTER_DATA_DIR or ~/.local/share/jupyter)/kernels/tslab, so that
//      `jupyter notebook`, JupyterLab and VS Code find it without any environment variable. Done when Jupyter is
//      installed or that dir exists, or with --user; skipped with --no-user. A tslab kernelspec there that this
//      script did not write (e.g. from a global `tslab install`) is left alone unless --force.
//
//   node tools/notebooks/install-kernel.js [--user | --no-user] [--force] [--quiet]
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const root = path.resolve(__dirname, "..", "..");
const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (!["--user", "--no-user", "--force", "--quiet"].includes(a)) {
    console.error(`install-kernel.js: unknown argument ${a} (allowed: --user, --no-user, --force, --quiet)`);
    process.exit(2);
  }
}
const log = args.has("--quiet") ? () => {} : (m) => console.log(m);

const tslabBin = path.join(root, "node_modules", "tslab", "bin", "tslab");
// tslab's kernel behind a small launcher that lets notebooks and lib import folders (see kernel-main.js).
const launcher = path.join(root, "tools", "notebooks", "kernel-main.js");
if (!fs.existsSync(tslabBin)) {
  console.error(`install-kernel.js: ${tslabBin} is missing; run \`npm ci\` first.`);
  process.exit(1);
}
const MARK = "score-sde-ts";

/** The kernelspec: the exact node that runs this script, so the kernel uses the same Node as the project. */
function spec() {
  return {
    argv: [process.execPath, launcher, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (tslab)",
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { [MARK]: { root, tslab: require(path.join(root, "node_modules", "tslab", "package.json")).version } },
  };
}

function write(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec(), null, 2) + "\n");
  log(`tslab kernelspec written: ${path.join(dir, "kernel.json")}`);
}

// 1. Project-local.
const localDir = path.join(root, "jupyter", "kernels", "tslab");
write(localDir);

// 2. The user's Jupyter data dir.
const hasJupyter = spawnSync("jupyter", ["--version"], { stdio: "ignore" }).status === 0;
const dataDir = process.env.JUPYTER_DATA_DIR || path.join(os.homedir(), ".local", "share", "jupyter");
const userDir = path.join(dataDir, "kernels", "tslab");
const wantUser = !args.has("--no-user") && (args.has("--user") || hasJupyter || fs.existsSync(dataDir));
if (wantUser) {
  let foreign = false;
  try {
    const old = JSON.parse(fs.readFileSync(path.join(userDir, "kernel.json"), "utf8"));
    foreign = !(old.metadata && old.metadata[MARK]);
  } catch {
    // none there (or unreadable): ours to write
  }
  if (foreign && !args.has("--force")) {
    log(`kept the existing tslab kernelspec in ${userDir} (not written by this project; --force replaces it)`);
  } else {
    write(userDir);
  }
} else {
  log(`user kernelspec skipped (no Jupyter found); use JUPYTER_PATH=${path.join(root, "jupyter")} or --user`);
}

if (hasJupyter) {
  const r = spawnSync("jupyter", ["kernelspec", "list"], {
    encoding: "utf8",
    env: { ...process.env, JUPYTER_PATH: [path.join(root, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) },
  });
  log((r.stdout || "").trim());
}
