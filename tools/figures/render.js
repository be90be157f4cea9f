#!/usr/bin/env node
// Renders plotly figure JSON files ({data, layout}) to PNG and/or SVG next to them, in ONE headless Chromium session
// (lib/viz/render.ts: Debian chromium + playwright-core + Plotly.toImage). For scripts and benchmarks that write
// figures as JSON (e.g. figures/bench/*.json); notebooks get theirs from `npm run notebooks`.
//
//   node tools/figures/render.js [--png] [--svg] [--scale=2] file.json…   (default: both formats)
// Exit 0 when every file was rendered; 1 when one failed; 3 when no Chromium is installed (message says how to get it).
"use strict";
const path = require("node:path");

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith("--"));
let formats = ["png", "svg"].filter((f) => args.includes(`--${f}`));
if (formats.length === 0) formats = ["png", "svg"];
const scaleArg = args.find((a) => a.startsWith("--scale="));
const scale = scaleArg ? Number(scaleArg.slice(8)) : 2;
const bad = args.filter((a) => a.startsWith("--") && !["--png", "--svg"].includes(a) && !a.startsWith("--scale="));
if (bad.length || files.length === 0 || !(scale > 0)) {
  console.error("usage: node tools/figures/render.js [--png] [--svg] [--scale=2] figure.json…");
  process.exit(2);
}

(async () => {
  const { requireLib, io } = require("../ts-lib");
  const { FigureRenderer, RendererUnavailable } = requireLib(path.join("lib", "viz", "render.ts"));
  const { readJsonFile, writeFileAtomic } = io();
  let r;
  try {
    r = await FigureRenderer.open();
  } catch (e) {
    console.error(`render.js: ${e.message}`);
    process.exit(e instanceof RendererUnavailable ? 3 : 1);
  }
  let failed = 0;
  try {
    for (const f of files) {
      try {
        const fig = readJsonFile(f, "plotly figure");
        if (!fig || !Array.isArray(fig.data)) throw new Error("not a plotly figure (no data array)");
        fig.layout = fig.layout || {};
        const base = f.replace(/\.json$/, "");
        for (const fmt of formats) {
          const out = `${base}.${fmt}`;
          writeFileAtomic(out, await r.render(fig, fmt, { scale }));
          console.log(`render.js: ${path.relative(process.cwd(), out)}`);
        }
      } catch (e) {
        failed++;
        console.error(`render.js: ${f}: ${e.message}`);
      }
    }
  } finally {
    await r.close();
  }
  process.exit(failed ? 1 : 0);
})();
