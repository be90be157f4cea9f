#!/usr/bin/env node
// The tslab kernel as the project's kernelspec starts it: tslab 1.0.22 unchanged, plus one fix.
//
// tslab compiles the .ts files a notebook imports itself and serves the compiled modules from memory, but its
// require() only finds them by exact file name: `import … from "./lib/sde"` (a folder with an index.ts) or a
// lib file's own `export * from "./sde"` fall through to Node, which sees no index.js there and throws
// "Cannot find module". Without this, every folder import in lib/ would have to spell out `/index`.
// The fix: when a relative require names a folder under the notebook's directory that holds an index.ts (and no
// <name>.ts beside it), ask tslab's own require for "<folder>/index" instead — the same in-memory module, so
// there is exactly one instance of each lib module whichever way it was imported.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");

const rootDir = process.cwd(); // tslab's root: Jupyter starts kernels in the notebook's folder
const original = Module.prototype.require;
Module.prototype.require = function requireWithFolderIndex(id) {
  const tslab = globalThis.__tslab__;
  if (tslab && typeof id === "string" && (id.startsWith("./") || id.startsWith("../")) && this && this.filename) {
    const abs = path.resolve(path.dirname(this.filename), id);
    if (!fs.existsSync(abs + ".ts") && fs.existsSync(path.join(abs, "index.ts"))) {
      const rel = path.relative(rootDir, path.join(abs, "index")).split(path.sep).join("/");
      if (!rel.startsWith("..")) {
        const mod = tslab.require("./" + rel);
        if (mod) return mod;
      }
    }
  }
  return original.apply(this, arguments);
};

require(path.join(__dirname, "..", "..", "node_modules", "tslab", "dist", "main.js")).main();
