#!/usr/bin/env node
/**
 * Builds lib/perf/native/score_sde_native.node (oneDNN convolutions and matrix products, fused elementwise and
 * optimiser kernels for the wasm backend) from the C files in lib/perf/native with the system C compiler. Needs
 * gcc (or $CC), Node's headers (node_api.h) and oneDNN (Debian: libdnnl-dev, which brings libgomp, the OpenMP
 * runtime the addon shares with it; tools/setup-debian.sh installs it).
 *
 * Optional by design: when something is missing it says what and exits 0, and the library keeps the wasm kernels
 * (lib/perf/native.ts). `--strict` exits 1 instead (for checking a machine that should have it).
 */
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const strict = process.argv.includes("--strict");
const root = path.resolve(__dirname, "..");
const dir = path.join(root, "lib/perf/native");
const sources = fs.readdirSync(dir).filter((f) => f.endsWith(".c")).sort().map((f) => path.join(dir, f));
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
// oneDNN's headers: Debian's libdnnl-dev, or a prefix given by $DNNL_ROOT (include/ and lib/ below it).
const dnnlRoots = [process.env.DNNL_ROOT, "/usr", "/usr/local"].filter(Boolean);
const dnnlRoot = dnnlRoots.find((r) => fs.existsSync(path.join(r, "include", "oneapi", "dnnl", "dnnl.h")));
if (!dnnlRoot) giveUp(`oneDNN not found (no include/oneapi/dnnl/dnnl.h under ${dnnlRoots.join(", ")}; install libdnnl-dev)`);
const dnnlFlags = dnnlRoot === "/usr" ? [] : ["-I", path.join(dnnlRoot, "include"), "-L", path.join(dnnlRoot, "lib"), `-Wl,-rpath,${path.join(dnnlRoot, "lib")}`];

const tmp = out.replace(/\.node$/, `.tmp-${process.pid}.node`); // Node loads addons by extension
const args = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp", "-shared", "-fPIC", "-Wall", "-I", nodeInclude, ...dnnlFlags, ...sources, "-o", tmp, "-ldnnl", "-lm"];
try {
  execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
  // Load it before it replaces the previous build: a file that does not load must not shadow a good one.
  require(tmp);
  fs.renameSync(tmp, out);
} catch (err) {
  try { fs.unlinkSync(tmp); } catch { /* not created */ }
  giveUp(`${cc} failed: ${err.message.split("\n")[0]}`);
}
console.log(`build-native: ${path.relative(root, out)} (${cc}, oneDNN from ${dnnlRoot})`);
