// How the JavaScript tools (notebook runner, figure renderer, kernelspec installer, test exporter) use the library:
// its TypeScript sources through ts-node, transpile-only (type-checking is `npm test`'s job), registered once per
// process with the project's tsconfig. So a tool writes files with lib/io's writeFileAtomic and reads JSON with its
// readJsonFile, the same code as the library, instead of a copy.
"use strict";
const path = require("node:path");

const root = path.resolve(__dirname, "..");

/** require() of a library source, e.g. requireLib("lib/io/atomic.ts"). */
function requireLib(rel) {
  // Already running under ts-node (e.g. a tool started with ts-node): its hook handles .ts.
  if (!require.extensions[".ts"]) {
    require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: true, compilerOptions: { module: "commonjs" } });
  }
  return require(path.join(root, rel));
}

/** lib/io/atomic.ts: writeFileAtomic, writeJsonAtomic, readJsonFile. */
const io = () => requireLib(path.join("lib", "io", "atomic.ts"));

module.exports = { requireLib, io, root };
