#!/usr/bin/env node
/**
 * Builds lib/perf/native/score_sde_native.node (OpenBLAS matMul and convolution kernels for the wasm backend) from
 * lib/perf/native/score_sde_native.c with the system C compiler. Needs gcc (or $CC), Node's headers (node_api.h)
 * and OpenBLAS (Debian: libopenblas-dev; tools/setup-debian.sh installs it).
 *
 * Optional by design: when something is missing it says what and exits 0, and the library keeps the wasm kernels
 * (lib/perf/native.ts). `--strict` exits 1 instead (for checking a machine that should have it).
 */
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const strict = process.argv.includes("--strict");
const root = path.resolve(__dirname, "..");
const src = path.join(root, "lib/perf/native/score_sde_native.c");
const out = path.join(root, "lib/perf/native/score_sde_native.node");

function giveUp(why) {
  console.log(`build-native: not built (${why}); the wasm kernels will be used. See environment.md.`);
  process.exit(strict ? 1 : 0);
}

const cc = process.env.CC || "gcc";
const includeCandidates = [
  path.join(path.dirname(process.execPath), "..", "include", "node"),
  "/usr/include/node",
  "/usr/local/include/node",
];
const nodeInclude = includeCandidates.find((d) => fs.existsSync(path.join(d, "node_api.h")));
if (!nodeInclude) giveUp(`node_api.h not found in ${includeCandidates.join(", ")}`);
const blasIncludes = ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/aarch64-linux-gnu/openblas-pthread", "/usr/include/openblas"]
  .filter((d) => fs.existsSync(path.join(d, "cblas.h")));
if (blasIncludes.length === 0 && !fs.existsSync("/usr/include/cblas.h")) giveUp("cblas.h not found (install libopenblas-dev)");

const tmp = out.replace(/\.node$/, `.tmp-${process.pid}.node`); // Node loads addons by extension
const args = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-shared", "-fPIC", "-Wall", "-I", nodeInclude, ...blasIncludes.flatMap((d) => ["-I", d]), src, "-o", tmp, "-pthread", "-lopenblas", "-lm"];
try {
  execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
  // Load it before it replaces the previous build: a file that does not load must not shadow a good one.
  require(tmp);
  fs.renameSync(tmp, out);
} catch (err) {
  try { fs.unlinkSync(tmp); } catch { /* not created */ }
  giveUp(`${cc} failed: ${err.message.split("\n")[0]}`);
}
console.log(`build-native: ${path.relative(root, out)} (${cc}, OpenBLAS)`);
