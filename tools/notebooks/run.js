#!/usr/bin/env node
// Headless notebook runner: executes notebooks on the real tslab kernel through the Jupyter protocol
// (tools/notebooks/kernel.js) and writes them back with their outputs. No Python needed.
//
//   npm run notebooks [-- [names…] [options]]
//     names          substrings of notebook file names in notebooks/ (default: all), or paths to .ipynb files
//     --quick        quick mode (also: env SCORE_SDE_QUICK=1): small sizes; writes notebooks/.executed/<name>.ipynb
//                    (git-ignored) and figures/quick/<notebook>/ (git-ignored)
//     --full         full mode (default): real sizes; writes the notebook IN PLACE (outputs are committed, so the
//                    results show on GitHub) and figures/<notebook>/<name>.{png,svg,json}
//     --out=DIR      write executed notebooks to DIR instead
//     --timeout=S    per-cell time limit in seconds (default 300 quick, 1800 full); the cell is interrupted and
//                    the notebook fails
//     --no-figures   do not render PNG/SVG (figures stay plotly JSON in the notebook)
//     --figures-dir=DIR  write named figures to DIR/<notebook>/ instead of figures/ (quick: figures/quick/)
//     --quiet        only failures and the summary
// Exit status: 0 when every cell of every notebook ran, 1 otherwise (the failing cell's source and full error text
// are printed), 2 on bad arguments.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { Kernel } = require("./kernel");
const { readNotebook, writeNotebook, joinText, tagsOf } = require("./nbfile");

const root = path.resolve(__dirname, "..", "..");
const PLOTLY_MIME = "application/vnd.plotly.v1+json";

function parseArgs(argv) {
  const o = { names: [], quick: ["1", "true", "yes"].includes((process.env.SCORE_SDE_QUICK || "").toLowerCase()), figures: true, quiet: false };
  for (const a of argv) {
    if (a === "--quick") o.quick = true;
    else if (a === "--full") o.quick = false;
    else if (a === "--no-figures") o.figures = false;
    else if (a === "--quiet") o.quiet = true;
    else if (a.startsWith("--timeout=")) o.timeout = Number(a.slice(10));
    else if (a.startsWith("--out=")) o.out = path.resolve(a.slice(6));
    else if (a.startsWith("--figures-dir=")) o.figuresDir = path.resolve(a.slice(14));
    else if (a.startsWith("--")) {
      console.error(`run.js: unknown option ${a}`);
      process.exit(2);
    } else o.names.push(a);
  }
  if (o.timeout !== undefined && !(o.timeout > 0)) {
    console.error("run.js: --timeout must be a positive number of seconds");
    process.exit(2);
  }
  o.timeout = o.timeout ?? (o.quick ? 300 : 1800);
  return o;
}

function findNotebooks(names) {
  const dir = path.join(root, "notebooks");
  const all = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb") && !f.startsWith(".")).sort().map((f) => path.join(dir, f)) : [];
  if (names.length === 0) return all;
  const out = [];
  for (const n of names) {
    if (n.endsWith(".ipynb") && fs.existsSync(n)) {
      out.push(path.resolve(n));
      continue;
    }
    const hit = all.filter((f) => path.basename(f).includes(n));
    if (hit.length === 0) {
      console.error(`run.js: no notebook in notebooks/ matches "${n}"`);
      process.exit(2);
    }
    out.push(...hit);
  }
  return [...new Set(out)];
}

/** The kernelspec written by install-kernel.js, or the same spec built here (so a fresh clone needs no step). */
function kernelSpec() {
  const f = path.join(root, "jupyter", "kernels", "tslab", "kernel.json");
  if (fs.existsSync(f)) {
    const s = JSON.parse(fs.readFileSync(f, "utf8"));
    if (fs.existsSync(s.argv[0]) && fs.existsSync(s.argv[1])) return s;
  }
  return { argv: [process.execPath, path.join(root, "tools", "notebooks", "kernel-main.js"), "kernel", "--config-path", "{connection_file}"] };
}

function numbered(src) {
  return src.split("\n").map((l, i) => `${String(i + 1).padStart(4)} | ${l}`).join("\n");
}

/** tslab reports errors only as stderr text; turn that into a Jupyter error output (ename/evalue/traceback). */
function errorOutput(stderrText, fallback) {
  const text = stderrText.trim() || fallback;
  const lines = text.split("\n");
  const m = lines.map((l) => l.match(/^(?:Uncaught )?([A-Za-z_$][\w$]*(?:Error|Exception)|AssertionError \[[^\]]+\]): ?(.*)$/)).find(Boolean);
  if (m) return { output_type: "error", ename: m[1], evalue: m[2], traceback: lines };
  // A TypeScript diagnostic ("3:7 - Type 'string' is not assignable …") or anything else.
  return { output_type: "error", ename: /^\d+:\d+ - /.test(lines[0]) ? "TypeScriptError" : "Error", evalue: lines[0], traceback: lines };
}

async function runNotebook(file, opts, log) {
  const nb = readNotebook(file);
  const name = path.basename(file, ".ipynb");
  const t0 = Date.now();
  const env = {
    SCORE_SDE_QUICK: opts.quick ? "1" : "0",
    SCORE_SDE_RENDER: opts.figures ? "defer" : "none",
    SCORE_SDE_NOTEBOOK: name,
  };
  // tslab compiles only files below its working directory: the kernel runs in the notebook's folder, as Jupyter does.
  const kernel = await Kernel.start(kernelSpec(), { cwd: path.dirname(file), env });
  const result = { file, name, nb, ok: true, cells: 0, failure: null };
  try {
    const info = await kernel.ready();
    nb.metadata = {
      ...nb.metadata,
      kernelspec: { display_name: "TypeScript (tslab)", language: "typescript", name: "tslab" },
      language_info: info.content.language_info,
    };
    const code = nb.cells.filter((c) => c.cell_type === "code");
    for (const c of code) {
      c.outputs = [];
      c.execution_count = null;
    }
    for (let ci = 0; ci < code.length; ci++) {
      const cell = code[ci];
      const src = joinText(cell.source);
      if (!src.trim()) continue;
      const outputs = [];
      let stderr = "";
      let clearPending = false;
      const byDisplayId = new Map();
      const onIopub = (msg) => {
        const t = msg.header.msg_type;
        const c = msg.content;
        if (clearPending && t !== "clear_output") {
          outputs.length = 0;
          clearPending = false;
        }
        if (t === "stream") {
          if (c.name === "stderr") stderr += c.text;
          const last = outputs[outputs.length - 1];
          if (last && last.output_type === "stream" && last.name === c.name) last.text += c.text;
          else outputs.push({ output_type: "stream", name: c.name, text: c.text });
        } else if (t === "display_data" || t === "execute_result") {
          const o = t === "execute_result"
            ? { output_type: t, data: c.data, metadata: c.metadata || {}, execution_count: c.execution_count }
            : { output_type: t, data: c.data, metadata: c.metadata || {} };
          outputs.push(o);
          const id = c.transient && c.transient.display_id;
          if (id) byDisplayId.set(id, o);
        } else if (t === "update_display_data") {
          const o = c.transient && byDisplayId.get(c.transient.display_id);
          if (o) {
            o.data = c.data;
            o.metadata = c.metadata || {};
          }
        } else if (t === "error") {
          outputs.push({ output_type: "error", ename: c.ename, evalue: c.evalue, traceback: c.traceback });
        } else if (t === "clear_output") {
          if (c.wait) clearPending = true;
          else outputs.length = 0;
        }
      };
      const tc = Date.now();
      let reply;
      let failure = null;
      try {
        reply = await kernel.request(
          "shell",
          "execute_request",
          { code: src, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          { timeoutMs: opts.timeout * 1000, onIopub },
        );
        if (reply.content.status !== "ok") failure = `status ${reply.content.status}`;
      } catch (e) {
        failure = e.timeout ? `the cell ran longer than the limit of ${opts.timeout} s (--timeout=S) and was interrupted` : e.message;
        if (e.timeout) {
          kernel.interrupt();
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
      cell.outputs = outputs;
      cell.execution_count = reply && reply.content.execution_count != null ? reply.content.execution_count : null;
      const dt = (Date.now() - tc) / 1000;
      result.cells++;
      if (failure) {
        if (!outputs.some((o) => o.output_type === "error")) outputs.push(errorOutput(stderr, failure));
        const err = outputs.find((o) => o.output_type === "error");
        const errText = stderr.trim() || err.traceback.join("\n");
        result.ok = false;
        result.failure = { cell: ci + 1, of: code.length, id: cell.id, source: src, error: errText, reason: failure, kernelLog: kernel.dead ? kernel.log : "" };
        log(`  [${name}] cell ${ci + 1}/${code.length} FAILED after ${dt.toFixed(1)} s`);
        break;
      }
      if (!opts.quiet) log(`  [${name}] cell ${ci + 1}/${code.length} ok ${dt.toFixed(1)} s`);
    }
  } catch (e) {
    result.ok = false;
    result.failure = { cell: 0, of: 0, source: "", error: e.message, reason: "kernel", kernelLog: kernel.log };
  } finally {
    await kernel.shutdown();
  }
  result.seconds = (Date.now() - t0) / 1000;
  return result;
}

/** Every plotly output of the executed notebooks gets a PNG; named ones are also written to figures/. */
async function renderFigures(results, opts) {
  const items = [];
  for (const r of results) {
    for (const c of r.nb.cells) {
      for (const o of c.outputs || []) {
        if (o.data && o.data[PLOTLY_MIME]) items.push({ r, o });
      }
    }
  }
  if (items.length === 0) return { rendered: 0, files: [] };
  require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
  const { FigureRenderer, RendererUnavailable } = require(path.join(root, "lib", "viz", "render.ts"));
  let renderer;
  const t0 = Date.now();
  try {
    renderer = await FigureRenderer.open();
  } catch (e) {
    if (e instanceof RendererUnavailable) {
      console.error(`[notebooks] ${e.message}`);
      return { rendered: 0, files: [], skipped: items.length };
    }
    throw e;
  }
  const files = [];
  try {
    for (const { r, o } of items) {
      const fig = o.data[PLOTLY_MIME];
      const meta = (o.metadata && o.metadata["score-sde-ts"]) || {};
      const size = { width: meta.width, height: meta.height };
      // Device scale 2, shown at the figure's CSS size (the bundle's image/png metadata, set by figureBundle).
      o.data["image/png"] = (await renderer.render(fig, "png", { ...size, scale: 2 })).toString("base64");
      if (meta.figure) {
        const base = opts.figuresDir || (opts.quick ? path.join(root, "figures", "quick") : path.join(root, "figures"));
        const dir = path.join(base, r.name);
        files.push(...(await renderer.writeFiles(fig, path.join(dir, meta.figure), ["png", "svg"], size)));
      }
    }
  } finally {
    await renderer.close();
  }
  return { rendered: items.length, files, seconds: (Date.now() - t0) / 1000 };
}

function outputPath(file, opts) {
  if (opts.out) return path.join(opts.out, path.basename(file));
  if (opts.quick) return path.join(path.dirname(file), ".executed", path.basename(file));
  return file;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const files = findNotebooks(opts.names);
  if (files.length === 0) {
    console.error("run.js: no notebooks found in notebooks/");
    process.exit(1);
  }
  const log = (m) => console.log(m);
  log(`[notebooks] ${opts.quick ? "quick" : "full"} mode, ${files.length} notebook(s), per-cell limit ${opts.timeout} s`);
  const results = [];
  for (const f of files) {
    log(`[notebooks] ${path.relative(root, f)}`);
    results.push(await runNotebook(f, opts, log));
  }
  let fig = { rendered: 0, files: [] };
  if (opts.figures) {
    try {
      fig = await renderFigures(results, opts);
    } catch (e) {
      console.error(`[notebooks] figure rendering failed: ${e.stack || e.message}`);
      fig.failed = true;
    }
  }
  for (const r of results) {
    const out = outputPath(r.file, opts);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeNotebook(out, r.nb);
    r.out = out;
  }
  let failed = 0;
  for (const r of results) {
    if (r.ok) {
      log(`[notebooks] ok     ${r.name}: ${r.cells} cells in ${r.seconds.toFixed(1)} s → ${path.relative(root, r.out)}`);
      continue;
    }
    failed++;
    const f = r.failure;
    console.error(`\n[notebooks] FAILED ${r.name}` + (f.cell ? ` at code cell ${f.cell}/${f.of}${f.id ? ` (id ${f.id})` : ""}` : ""));
    if (f.source) console.error(`--- cell source ---\n${numbered(f.source)}`);
    console.error(`--- error (${f.reason}) ---\n${f.error}`);
    if (f.kernelLog) console.error(`--- kernel log ---\n${f.kernelLog}`);
    console.error(`--- partial outputs written to ${path.relative(root, r.out)} ---`);
  }
  if (fig.rendered) log(`[notebooks] ${fig.rendered} figure(s) rendered to PNG in ${fig.seconds.toFixed(1)} s; ${fig.files.length} file(s) under figures/`);
  if (fig.failed) failed++;
  log(`[notebooks] ${results.length - failed}/${results.length} notebook(s) ok`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
