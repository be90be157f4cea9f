#!/usr/bin/env node
// Registers the tslab (TypeScript) Jupyter kernel without `tslab install`, which shells out to Python and needs
// IPython (not available from Debian without pulling in a lot, and PyPI is unreachable here).
//
// A kernelspec is just a folder with a kernel.json naming the command Jupyter starts. We write it
//   1. project-locally to jupyter/kernels/tslab/ (absolute paths, so jupyter/ is git-ignored); use it with
//      JUPYTER_PATH=$PWD/jupyter — the headless runner (tools/notebooks/run.js) reads it from there;
//   2. to the user's Jupyter data dir ($JUPYTER_DATA_DIR or ~/.local/share/jupyter)/kernels/tslab, so that
//      `jupyter notebook`, JupyterLab and VS Code find it without any environment variable. Done when Jupyter is
//      installed or that dir exists, or with --user; skipped with --no-user. The notebooks name the kernel `tslab`
//      in their metadata, so there is one such user kernelspec for all checkouts, and this script never silently
//      takes it from another one: it writes it when there is none, when it already runs this checkout, or when
//      the checkout it runs no longer exists. A kernelspec of another existing checkout, or one this script did not
//      write (e.g. a global `tslab install`), is kept, with a message saying how to use this checkout's kernel
//      (JUPYTER_PATH=<this checkout>/jupyter, which Jupyter searches first) or to take it over (--force).
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
  require("../ts-lib").io().writeJsonAtomic(path.join(dir, "kernel.json"), spec(), 2);
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
  let keep = null; // why the existing user kernelspec stays, or null to write ours
  let old = null;
  try {
    old = JSON.parse(fs.readFileSync(path.join(userDir, "kernel.json"), "utf8"));
  } catch {
    // none there (or unreadable): ours to write
  }
  const ours = old && old.metadata && old.metadata[MARK];
  if (old && !ours) keep = "it was not written by this project (e.g. a global `tslab install`)";
  else if (ours && ours.root !== root && typeof ours.root === "string" && fs.existsSync(path.join(ours.root, "tools", "notebooks", "kernel-main.js"))) {
    keep = `it runs the checkout ${ours.root}`;
  }
  if (keep && !args.has("--force")) {
    log(
      `kept the tslab kernelspec in ${userDir}: ${keep}.\n` +
        `  To run this checkout's kernel, start Jupyter with JUPYTER_PATH=${path.join(root, "jupyter")} ` +
        "(npm run notebooks and the browser test do); --force points the user kernelspec here instead.",
    );
  } else {
    if (ours && ours.root !== root) log(`the tslab kernelspec in ${userDir} ran ${ours.root}, ${keep ? "replaced (--force)" : "which no longer exists"}`);
    write(userDir);
  }
} else {
  log(`user kernelspec skipped (${args.has("--no-user") ? "--no-user" : "no Jupyter found"}); use JUPYTER_PATH=${path.join(root, "jupyter")} or --user`);
}

if (hasJupyter) {
  const r = spawnSync("jupyter", ["kernelspec", "list"], {
    encoding: "utf8",
    env: { ...process.env, JUPYTER_PATH: [path.join(root, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) },
  });
  log((r.stdout || "").trim());
}
