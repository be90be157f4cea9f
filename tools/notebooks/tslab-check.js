#!/usr/bin/env node
// Type-checks lib/ the way the notebook kernel does: with tslab's own bundled TypeScript (5.0) and compiler
// settings (ES modules, target/lib ES2022 with NO DOM typings, Node10 resolution), by handing tslab's converter a
// cell that imports every lib module through the notebooks/lib symlink. `npm test` (tsc 5.9, lib DOM, CommonJS)
// accepts code that a notebook then rejects — e.g. `import x = require()`, DOM-only types such as BlobPart, or
// syntax newer than TypeScript 5.0 — so this catches that before a notebook does.
//
//   node tools/notebooks/tslab-check.js [lib-relative module paths…]   (default: every .ts file under lib/)
// Exit 0 when tslab reports no diagnostics; 1 with tslab's messages otherwise.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");
const nbDir = path.join(root, "notebooks");
if (!fs.existsSync(path.join(nbDir, "lib"))) {
  console.error("tslab-check: notebooks/lib is missing (it must be a symlink to ../lib)");
  process.exit(1);
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const mods = process.argv.length > 2
  ? process.argv.slice(2)
  : walk(path.join(root, "lib")).map((f) => path.relative(path.join(root, "lib"), f).replace(/\\/g, "/").replace(/\.ts$/, ""));
const src = mods.map((m, i) => `import * as m${i} from "./lib/${m}";`).join("\n") + `\nconst tslabCheckCount = [${mods.map((_, i) => `m${i}`).join(", ")}].length;\n`;

// tslab's converter resolves everything from the process's working directory, exactly as in the kernel.
process.chdir(nbDir);
const { createConverter } = require(path.join(root, "node_modules", "tslab", "dist", "converter"));
const t0 = Date.now();
const conv = createConverter({ isJS: false, isBrowser: false });
const out = conv.convert("", src);
conv.close();
const diags = out.diagnostics || [];
for (const d of diags) {
  console.error(`${d.fileName ? d.fileName + " " : ""}${d.start.line + 1}:${d.start.character + 1} - ${d.messageText}`);
}
console.log(`tslab-check: ${mods.length} lib modules, ${diags.length} diagnostic(s), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(diags.length ? 1 : 0);
