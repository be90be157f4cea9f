#!/usr/bin/env node
// Headless notebook runner: executes notebooks on the real tslab kernel through the Jupyter protocol
// (tools/notebooks/kernel.js) and writes them back with their outputs. No Python needed.
//
//   npm run notebooks [-- [names…] [options]]
//     names          substrings of notebook file names in notebooks/ (default: all), or paths to .ipynb files
//     --quick        quick mode (also: env SCORE_SDE_QUICK=1): small sizes; writes notebooks/.executed/<name>.ipynb
//                    (git-ignored) and figures/quick/<notebook>/ (git-ignored)
//     --full         full mode (default): real sizes; writes the notebook IN PLACE (outputs are committed, so the
//                    results show on GitHub) and figures/<notebook>/<name>.{png,svg,json} — only when every cell
//                    ran and its figures rendered: a failed run goes to notebooks/.executed/<name>.ipynb and leaves
//                    the committed notebook and figures as they were
//     --out=DIR      write executed notebooks to DIR instead
//     --timeout=S    per-cell time limit in seconds (default 300 quick, 1800 full); the cell is interrupted and
//                    the notebook fails
//     --no-figures   do not render PNG/SVG (figures stay plotly JSON in the notebook)
//     --figures-dir=DIR  write named figures to DIR/<notebook>/ instead of figures/ (quick: figures/quick/)
//     --quiet        only failures and the summary
// Every notebook is read and checked before any kernel starts (a bad one is reported by file name); each is written
// (atomically) as soon as it has run. Ctrl-C, SIGTERM or SIGHUP stop the running kernel and remove its temporary
// folder; notebooks finished before stay written. If the runner itself is SIGKILLed, the kernel notices and exits
// (tools/notebooks/parent-watch.js).
// Exit status: 0 when every cell of every notebook ran, 1 otherwise (the failing cell's source and full error text
// are printed), 2 on bad arguments or an unreadable notebook (nothing run), 128 + n on signal n.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { Kernel } = require("./kernel");
const { readNotebook, writeNotebook, joinText } = require("./nbfile");
const { io, requireLib } = require("../ts-lib");

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
  for (const [flag, dir] of [["--out", o.out], ["--figures-dir", o.figuresDir]]) {
    if (dir && fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      console.error(`run.js: ${flag}=${dir} is a file; ${flag} must name a folder (created when missing)`);
      process.exit(2);
    }
  }
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
    const s = io().readJsonFile(f, "kernelspec (written by tools/notebooks/install-kernel.js; rerun it to rewrite)");
    if (Array.isArray(s.argv) && fs.existsSync(s.argv[0]) && fs.existsSync(s.argv[1])) return s;
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

async function runNotebook(file, nb, opts, log) {
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

/** Opens the figure renderer (headless Chromium) once, on first use; null when none is installed. */
let rendererPromise = null;
function figureRenderer() {
  rendererPromise ??= (async () => {
    const { FigureRenderer, RendererUnavailable } = requireLib(path.join("lib", "viz", "render.ts"));
    try {
      return await FigureRenderer.open();
    } catch (e) {
      if (e instanceof RendererUnavailable) {
        console.error(`[notebooks] ${e.message}`);
        return null;
      }
      throw e;
    }
  })();
  return rendererPromise;
}

/**
 * Every plotly output of an executed notebook gets a PNG; named ones are also written to figures/ — only for a
 * notebook whose cells all ran (a failed full run must not replace committed figures).
 */
async function renderFigures(r, opts) {
  const items = [];
  for (const c of r.nb.cells) {
    for (const o of c.outputs || []) {
      if (o.data && o.data[PLOTLY_MIME]) items.push(o);
    }
  }
  if (items.length === 0) return { rendered: 0, files: [] };
  const renderer = await figureRenderer();
  if (!renderer) return { rendered: 0, files: [], skipped: items.length };
  const t0 = Date.now();
  const files = [];
  for (const o of items) {
    const fig = o.data[PLOTLY_MIME];
    const meta = (o.metadata && o.metadata["score-sde-ts"]) || {};
    const size = { width: meta.width, height: meta.height };
    // Device scale 2, shown at the figure's CSS size (the bundle's image/png metadata, set by figureBundle).
    o.data["image/png"] = (await renderer.render(fig, "png", { ...size, scale: 2 })).toString("base64");
    if (meta.figure && r.ok) {
      const base = opts.figuresDir || (opts.quick ? path.join(root, "figures", "quick") : path.join(root, "figures"));
      files.push(...(await renderer.writeFiles(fig, path.join(base, r.name, meta.figure), ["png", "svg"], size)));
    }
  }
  return { rendered: items.length, files, seconds: (Date.now() - t0) / 1000 };
}

/** Where an executed notebook goes: in place only for a complete full-mode run (see the header). */
function outputPath(file, opts, complete) {
  if (opts.out) return path.join(opts.out, path.basename(file));
  if (opts.quick || !complete) return path.join(path.dirname(file), ".executed", path.basename(file));
  return file;
}

/** Reads every notebook first; exits 2 naming each unreadable one, before any kernel is started. */
function readAll(files) {
  const nbs = [];
  const bad = [];
  for (const f of files) {
    try {
      nbs.push(readNotebook(f));
    } catch (e) {
      bad.push(e.message);
    }
  }
  if (bad.length) {
    console.error(`[notebooks] ${bad.length} of ${files.length} notebook(s) cannot be read; nothing was run:`);
    for (const m of bad) console.error(`  ${m}`);
    process.exit(2);
  }
  return nbs;
}

/** Signals stop the kernel (and Chromium) and remove the kernel's temporary folder before the runner exits. */
function installSignalHandlers(state) {
  process.on("exit", () => Kernel.killAll());
  const stop = (why, status) => {
    Kernel.killAll();
    const now = state.current ? ` while running ${path.relative(root, state.current)} (not written)` : "";
    const done = state.written.length ? `; written before: ${state.written.map((f) => path.relative(root, f)).join(", ")}` : "";
    console.error(`\n[notebooks] ${why}${now}: kernel stopped, its temporary folder removed${done}`);
    const close = rendererPromise ? rendererPromise.then((r) => r && r.close()).catch(() => {}) : Promise.resolve();
    const deadline = new Promise((res) => setTimeout(res, 2000));
    Promise.race([close, deadline]).then(() => process.exit(status));
  };
  for (const [sig, n] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]]) process.on(sig, () => stop(sig, 128 + n));
  // `npm run notebooks` SIGKILLed cannot forward the signal, and leaves this runner behind (under npm's `sh -c`): the
  // death of the parent, or of the process that started the shells between us, counts as SIGHUP.
  const chain = launchers();
  if (chain.length) {
    setInterval(() => {
      const gone = chain.find(({ pid, parent }) => parentOf(pid) !== parent);
      if (gone) stop(`the process that started this run (pid ${gone.parent}) died`, 129);
    }, 1000).unref();
  }
}

/** Parent pid of `pid` (null when it is gone); this process's own via process.ppid. */
function parentOf(pid) {
  if (pid === process.pid) return process.ppid;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? null : Number(fields[1]);
  } catch {
    return null;
  }
}

/**
 * The processes whose parent is watched: this one, and each shell above it (npm runs scripts through `sh -c`), so
 * the first non-shell ancestor (npm, a terminal's shell…) dying is noticed. Just this one where /proc is missing.
 */
function launchers() {
  const chain = [];
  let pid = process.pid;
  for (let depth = 0; depth < 4; depth++) {
    const parent = parentOf(pid);
    if (!parent || parent <= 1) break;
    chain.push({ pid, parent });
    let comm = "";
    try {
      comm = fs.readFileSync(`/proc/${parent}/comm`, "utf8").trim();
    } catch {
      break;
    }
    if (!["sh", "dash", "bash", "zsh"].includes(comm)) break;
    pid = parent;
  }
  return chain;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const files = findNotebooks(opts.names);
  if (files.length === 0) {
    console.error("run.js: no notebooks found in notebooks/");
    process.exit(1);
  }
  const nbs = readAll(files);
  const state = { current: null, written: [] };
  installSignalHandlers(state);
  const log = (m) => console.log(m);
  log(`[notebooks] ${opts.quick ? "quick" : "full"} mode, ${files.length} notebook(s), per-cell limit ${opts.timeout} s`);
  const results = [];
  let figures = 0;
  let figureFiles = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    log(`[notebooks] ${path.relative(root, f)}`);
    state.current = f;
    const r = await runNotebook(f, nbs[i], opts, log);
    if (opts.figures) {
      try {
        const fig = await renderFigures(r, opts);
        figures += fig.rendered;
        figureFiles += fig.files.length;
      } catch (e) {
        r.figureError = e.stack || e.message;
      }
    }
    r.out = outputPath(f, opts, r.ok && !r.figureError);
    writeNotebook(r.out, r.nb);
    state.written.push(r.out);
    state.current = null;
    results.push(r);
    report(r, opts, log);
  }
  if (rendererPromise) {
    const renderer = await rendererPromise.catch(() => null);
    if (renderer) await renderer.close();
  }
  const failed = results.filter((r) => !r.ok || r.figureError).length;
  if (figures) log(`[notebooks] ${figures} figure(s) rendered to PNG; ${figureFiles} file(s) under figures/`);
  log(`[notebooks] ${results.length - failed}/${results.length} notebook(s) ok`);
  process.exit(failed ? 1 : 0);
}

/** One notebook's outcome, printed as soon as it is written. */
function report(r, opts, log) {
  const rel = path.relative(root, r.out);
  if (r.ok && !r.figureError) {
    log(`[notebooks] ok     ${r.name}: ${r.cells} cells in ${r.seconds.toFixed(1)} s → ${rel}`);
    return;
  }
  const f = r.failure;
  if (f) {
    console.error(`\n[notebooks] FAILED ${r.name}` + (f.cell ? ` at code cell ${f.cell}/${f.of}${f.id ? ` (id ${f.id})` : ""}` : ""));
    if (f.source) console.error(`--- cell source ---\n${numbered(f.source)}`);
    console.error(`--- error (${f.reason}) ---\n${f.error}`);
    if (f.kernelLog) console.error(`--- kernel log ---\n${f.kernelLog}`);
  }
  if (r.figureError) console.error(`\n[notebooks] FAILED ${r.name}: figure rendering failed: ${r.figureError}`);
  const kept = !opts.quick && !opts.out ? ` (the committed ${path.relative(root, r.file)} was left as it was)` : "";
  console.error(`--- partial outputs written to ${rel}${kept} ---`);
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
