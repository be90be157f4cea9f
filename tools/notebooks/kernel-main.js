#!/usr/bin/env node
// The tslab kernel as the project's kernelspec starts it: tslab 1.0.22 unchanged, plus two fixes (it relies on
// tslab's internals, which is why package.json pins tslab exactly).
//
// tslab compiles the .ts files a notebook imports itself and serves the compiled modules from memory, but its
// require() only finds them by exact file name: `import … from "./lib/sde"` (a folder with an index.ts) or a
// lib file's own `export * from "./sde"` fall through to Node, which sees no index.js there and throws
// "Cannot find module". Without this, every folder import in lib/ would have to spell out `/index`.
// The fix: when a relative require names a folder under the notebook's directory that holds an index.ts (and no
// <name>.ts beside it), ask tslab's own require for "<folder>/index" instead — the same in-memory module, so
// there is exactly one instance of each lib module whichever way it was imported.
"use strict";
require("./parent-watch").watchParent(); // exit when the runner / Jupyter that started this kernel dies
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

// Second fix: edits to lib/ must reach the notebook without restarting the kernel. tslab watches every compiled file
// and, when one changes, re-emits that file only; modules that import it stay cached with the old copy (edit
// lib/sde/ve.ts, re-run `import … from "./lib"`, and index.ts still hands out the old VESDE). So when a watched
// source below the notebook's folder changes, we report all of them as changed: on the next run of an import cell
// tslab re-emits the whole imported graph and every module is loaded afresh, consistently. Objects created before
// the edit keep their old classes — re-run the notebook from its import cell.
const tslabDist = path.join(__dirname, "..", "..", "node_modules", "tslab", "dist");
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDist] }));
const watched = new Map(); // file → Set of TypeScript's callbacks for it
const isProjectSource = (f) => f.startsWith(rootDir + path.sep) && !f.includes(`${path.sep}node_modules${path.sep}`);
const originalWatchFile = ts.sys.watchFile;
ts.sys.watchFile = function watchFileTransitively(file, callback, ...rest) {
  const onChange = (fileName, kind, ...more) => {
    callback(fileName, kind, ...more);
    if (kind !== ts.FileWatcherEventKind.Changed || !isProjectSource(fileName)) return;
    for (const [other, callbacks] of watched) {
      if (other === fileName || !isProjectSource(other)) continue;
      for (const cb of callbacks) cb(other, ts.FileWatcherEventKind.Changed, new Date());
    }
  };
  if (!watched.has(file)) watched.set(file, new Set());
  watched.get(file).add(callback);
  const w = originalWatchFile.call(this, file, onChange, ...rest);
  return {
    close() {
      const set = watched.get(file);
      if (set) {
        set.delete(callback);
        if (set.size === 0) watched.delete(file);
      }
      w.close();
    },
  };
};

require("./tslab-patch").install(tslabDist); // cross-cell `{ name }` and stop_on_error: see tslab-patch.js
require(path.join(tslabDist, "main.js")).main();
