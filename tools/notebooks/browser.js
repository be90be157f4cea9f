#!/usr/bin/env node
// The notebooks as a person uses them: Debian's classic Jupyter Notebook server on a loopback port with a token,
// Debian's Chromium driven through playwright-core, each notebook opened, Kernel → Restart & Run All clicked in the
// menu (quick mode), and then checked in the page itself:
//   - no error output (an `error` output, or tslab's errors and compile diagnostics, which it prints to stderr);
//   - every code cell executed, in order (prompts 1…n after the restart);
//   - figures (PNG images that loaded) and HTML tables present, as many as the committed notebook has;
//   - no MathJax errors (MathJax 2 marks them in the page), MathJax loaded and done.
// Screenshots of each notebook after the run (viewport-sized pages, top to bottom) go to figures/quick/browser/
// (git-ignored). The notebooks are copies in a scratch folder, so Jupyter's autosave never touches the committed
// ones; the server and the browser are stopped whatever happens (finally, SIGINT/SIGTERM/SIGHUP).
//
//   npm run notebooks:browser -- 01 02       notebooks whose name contains 01 or 02
//   npm run notebooks:browser -- --all       every notebook in notebooks/
//   options: --timeout=<s per notebook, default 600> --shots=<dir> --headed --keep (keep the scratch folder)
// Exit 0 when every notebook passes, 1 on a failed check (each failure printed), 2 on a usage or setup problem.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const { freePorts } = require("./kernel");

const root = path.resolve(__dirname, "..", "..");
const nbDir = path.join(root, "notebooks");

// ---------------------------------------------------------------------------------------------------- arguments
const opts = { timeout: 600, shots: path.join(root, "figures", "quick", "browser"), all: false, headed: false, keep: false, names: [] };
function usage(why) {
  console.error(`browser.js: ${why}\nusage: node tools/notebooks/browser.js (--all | names…) [--timeout=s] [--shots=dir] [--headed] [--keep]`);
  process.exit(2);
}
/** Parses the command line into `opts`; returns the notebook files to run. */
function parseArgs(argv) {
  for (const a of argv) {
    let m;
    if (a === "--all") opts.all = true;
    else if (a === "--headed") opts.headed = true;
    else if (a === "--keep") opts.keep = true;
    else if ((m = a.match(/^--timeout=(\d+(?:\.\d+)?)$/)) && Number(m[1]) > 0) opts.timeout = Number(m[1]);
    else if ((m = a.match(/^--shots=(.+)$/))) opts.shots = path.resolve(m[1]);
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else opts.names.push(a);
  }
  if (!opts.all && opts.names.length === 0) usage("name the notebooks (substrings) or pass --all");
  const files = fs
    .readdirSync(nbDir)
    .filter((f) => f.endsWith(".ipynb") && !f.startsWith("_"))
    .sort()
    .filter((f) => opts.all || opts.names.some((n) => f.includes(n)));
  if (files.length === 0) usage(`no notebook in notebooks/ matches ${opts.names.join(", ")}`);
  return files;
}

// ---------------------------------------------------------------------------------------------------- setup checks
const CHROMIUM = process.env.SCORE_SDE_CHROMIUM || "/usr/bin/chromium";
/** Why the browser test cannot run here, or null. Also used by test/nb/browser.test.ts to skip with a reason. */
function missing() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (sudo bash tools/setup-debian.sh installs Debian's chromium)`;
  const nb = spawnSync("jupyter", ["notebook", "--version"], { encoding: "utf8" });
  if (nb.status !== 0) return "no classic Jupyter Notebook (`jupyter notebook --version` failed; sudo bash tools/setup-debian.sh installs jupyter-notebook)";
  if (!fs.existsSync(path.join(root, "jupyter", "kernels", "tslab", "kernel.json"))) return "no project kernelspec (node tools/notebooks/install-kernel.js)";
  return null;
}

// ---------------------------------------------------------------------------------------------------- cleanup
const cleanups = []; // run in reverse order, each at most once
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const f = cleanups.pop();
      try {
        await f();
      } catch (e) {
        console.error(`browser.js: cleanup step failed: ${e.message}`);
      }
    }
  })();
  return cleaning;
}

/** PIDs of processes whose command line mentions `needle` (our scratch folder: the kernels' connection files). */
function pidsMentioning(needle) {
  const out = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(needle)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
  });
}

// ---------------------------------------------------------------------------------------------------- the server
/** Copies the notebooks into a scratch folder beside links to everything else in notebooks/ (lib, …). */
function scratchFolder() {
  fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, ".tmp", "browser-"));
  cleanups.push(() => opts.keep || fs.rmSync(dir, { recursive: true, force: true }));
  const work = path.join(dir, "notebooks");
  fs.mkdirSync(work);
  for (const e of fs.readdirSync(nbDir)) {
    if (e.endsWith(".ipynb")) fs.copyFileSync(path.join(nbDir, e), path.join(work, e));
    else if (!e.startsWith(".")) fs.symlinkSync(path.join(nbDir, e), path.join(work, e));
  }
  for (const d of ["config", "data", "runtime"]) fs.mkdirSync(path.join(dir, d));
  return { dir, work };
}

/**
 * The server on a port found free just before. Another process can take that port before the server binds it; the
 * server then exits saying so, and another port is tried (three tries).
 */
async function startServer(dir, work) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(dir, work);
    } catch (e) {
      if (attempt >= 3 || !e.portTaken) throw e;
      console.error(`[browser] the server's port was taken before it bound it; trying another (${e.message.split("\n")[0]})`);
    }
  }
}

async function startServerOnce(dir, work) {
  const [port] = await freePorts(1);
  const token = crypto.randomBytes(24).toString("hex");
  const args = ["notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--NotebookApp.token=${token}`, `--notebook-dir=${work}`];
  if (process.getuid && process.getuid() === 0) args.push("--allow-root");
  const log = [];
  const proc = spawn("jupyter", args, {
    cwd: work,
    detached: true, // its own process group, so that it and what it starts can be stopped together
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      SCORE_SDE_QUICK: "1",
      // this checkout's kernelspec (searched first), and nothing from the user's Jupyter configuration
      JUPYTER_PATH: path.join(root, "jupyter"),
      JUPYTER_CONFIG_DIR: path.join(dir, "config"),
      JUPYTER_DATA_DIR: path.join(dir, "data"),
      JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
      BROWSER: "true",
    },
  });
  const keep = (d) => log.push(d.toString());
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", (code, sig) => r({ code, sig })));
  let dead = false;
  exited.then(() => (dead = true));
  cleanups.push(async () => {
    // Jupyter shuts its kernels down on SIGTERM; whatever still runs after that is killed by PID.
    if (!dead) {
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(10_000)]);
      if (!dead) process.kill(-proc.pid, "SIGKILL");
    }
    for (const pid of pidsMentioning(dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  });
  const base = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (dead) {
      const e = new Error(`the Jupyter server exited at start:\n${log.join("")}`);
      e.portTaken = /already in use|EADDRINUSE/i.test(log.join(""));
      throw e;
    }
    try {
      const r = await get(`${base}/api/kernelspecs?token=${token}`);
      if (r.status === 200) {
        const specs = JSON.parse(r.body);
        const spec = specs.kernelspecs.tslab;
        if (!spec) throw new Error(`the server sees no tslab kernelspec: ${Object.keys(specs.kernelspecs).join(", ")}`);
        const ours = ((spec.spec.metadata || {})["score-sde-ts"] || {}).root;
        if (ours !== root) throw new Error(`the server's tslab kernelspec is not this checkout's (it runs ${ours || spec.spec.argv.join(" ")})`);
        return { base, token, log };
      }
    } catch (e) {
      if (!["ECONNREFUSED", "ECONNRESET"].includes(e.code) && e.message !== "timeout") throw e;
    }
    if (Date.now() - t0 > 60_000) throw new Error(`the Jupyter server did not answer within 60 s:\n${log.join("")}`);
    await sleep(300);
  }
}

// ---------------------------------------------------------------------------------------------------- the browser
async function startBrowser(dir) {
  const { chromium } = require("playwright-core");
  const profile = path.join(dir, "chromium-profile"); // fresh, inside the scratch folder
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: !opts.headed,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 1000 },
    deviceScaleFactor: 1,
    timeout: 60_000,
  });
  cleanups.push(() => context.close());
  return context;
}

/** What the committed notebook shows: the figure and table counts a run must reproduce. */
function expected(file) {
  const nb = JSON.parse(fs.readFileSync(path.join(nbDir, file), "utf8"));
  const outs = nb.cells.filter((c) => c.cell_type === "code").flatMap((c) => c.outputs || []);
  return {
    codeCells: nb.cells.filter((c) => c.cell_type === "code").length,
    figures: outs.filter((o) => o.data && o.data["image/png"]).length,
    tables: outs.filter((o) => o.data && /<table/.test([].concat(o.data["text/html"] || []).join(""))).length,
  };
}

/** In the page: the notebook's state after the run, from the notebook's own model and the rendered DOM. */
function inspectPage() {
  const J = window.Jupyter;
  const cells = J.notebook.get_cells().filter((c) => c.cell_type === "code");
  const text = (o) => [].concat(o.text || "").join("");
  const problems = [];
  cells.forEach((c, i) => {
    for (const o of c.output_area.outputs) {
      if (o.output_type === "error") problems.push(`code cell ${i + 1}: error output ${o.ename}: ${o.evalue}`);
      if (o.output_type === "stream" && o.name === "stderr" && /(Error|Exception)\b|^\d+:\d+ - |\n\d+:\d+ - /.test(text(o))) {
        problems.push(`code cell ${i + 1}: error on stderr:\n${text(o).slice(0, 2000)}`);
      }
    }
  });
  const imgs = Array.from(document.querySelectorAll("#notebook .output_png img, #notebook .output_subarea img"));
  const mj = window.MathJax;
  return {
    prompts: cells.map((c) => c.input_prompt_number ?? null),
    running: document.querySelectorAll("#notebook .cell.running").length,
    problems,
    figures: imgs.length,
    brokenImages: imgs.filter((im) => !(im.complete && im.naturalWidth > 0)).length,
    imageWidths: imgs.map((im) => [im.naturalWidth, im.clientWidth]),
    tables: document.querySelectorAll("#notebook .output_html table, #notebook .rendered_html.output_subarea table").length,
    mathJax: mj && mj.Hub ? "loaded" : "missing",
    mathErrors: Array.from(document.querySelectorAll(".MathJax_Error, .merror, .mjx-merror")).map((e) => e.textContent.slice(0, 200)),
    mathProcessingErrors: (document.body.innerText.match(/Math Processing Error/g) || []).length,
    typeset: document.querySelectorAll(".MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_CHTML").length,
  };
}

async function runNotebook(context, server, file) {
  const want = expected(file);
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const t0 = Date.now();
  try {
    await page.goto(`${server.base}/notebooks/${encodeURIComponent(file)}?token=${server.token}`, { timeout: 60_000 });
    await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected(), null, { timeout: 120_000 });
    // Start from empty prompts and outputs (Cell → All Output → Clear), so that nothing shown below comes from the
    // committed file; then the real menu: Kernel → Restart & Run All, and the dialog's confirm button.
    await page.click("#celllink");
    await page.hover("#all_outputs");
    await page.click("#clear_all_output");
    await page.click("#kernellink");
    await page.click("#restart_run_all");
    await page.click(".modal-dialog button:has-text('Restart and Run All Cells')");
    const deadline = Date.now() + opts.timeout * 1000;
    let state;
    for (;;) {
      await sleep(1000);
      state = await page.evaluate(inspectPage);
      const done = state.running === 0 && state.prompts.every((p) => typeof p === "number");
      const failed = state.running === 0 && state.prompts.some((p) => p !== "*" && typeof p !== "number") && state.prompts.some((p) => typeof p === "number");
      if (done || failed || state.problems.length > 0 || Date.now() > deadline) break;
    }
    // Let MathJax finish typesetting (its queue) before judging the equations.
    await page.evaluate(() => new Promise((r) => (window.MathJax && MathJax.Hub ? MathJax.Hub.Queue(r) : r())));
    await sleep(500);
    state = await page.evaluate(inspectPage);
    const secs = (Date.now() - t0) / 1000;
    const fails = [...state.problems];
    const n = want.codeCells;
    const inOrder = state.prompts.length === n && state.prompts.every((p, i) => p === i + 1);
    if (!inOrder) fails.push(`code cells not all executed in order after the restart: prompts ${JSON.stringify(state.prompts)}${Date.now() > deadline ? ` (stopped waiting after ${opts.timeout} s)` : ""}`);
    if (state.figures < want.figures) fails.push(`${state.figures} figures shown, the committed notebook has ${want.figures}`);
    if (state.brokenImages > 0) fails.push(`${state.brokenImages} figure image(s) did not load`);
    if (state.tables < want.tables) fails.push(`${state.tables} HTML tables shown, the committed notebook has ${want.tables}`);
    if (state.mathJax !== "loaded") fails.push("MathJax did not load");
    if (state.mathErrors.length || state.mathProcessingErrors) fails.push(`MathJax errors: ${JSON.stringify(state.mathErrors)} (${state.mathProcessingErrors} "Math Processing Error")`);
    if (consoleErrors.length) fails.push(`page errors: ${consoleErrors.join(" | ").slice(0, 1000)}`);
    const shots = await screenshots(page, file);
    return { file, secs, state, fails, shots };
  } finally {
    await page.close().catch(() => undefined);
  }
}

/** Viewport-sized screenshots from top to bottom (the notebook scrolls inside #site, not the page). */
async function screenshots(page, file) {
  fs.mkdirSync(opts.shots, { recursive: true });
  const base = file.replace(/\.ipynb$/, "");
  for (const f of fs.readdirSync(opts.shots)) if (f.startsWith(base + "-")) fs.rmSync(path.join(opts.shots, f));
  await page.evaluate(() => {
    Jupyter.notebook.select(0); // no focused cell outline in the pictures
    document.activeElement && document.activeElement.blur();
  });
  const { total, view } = await page.evaluate(() => {
    const s = document.getElementById("site");
    return { total: s.scrollHeight, view: s.clientHeight };
  });
  const out = [];
  for (let y = 0, i = 1; y < total; y += view, i++) {
    await page.evaluate((top) => (document.getElementById("site").scrollTop = top), y);
    await sleep(150);
    const f = path.join(opts.shots, `${base}-${String(i).padStart(2, "0")}.png`);
    const tmp = f + ".tmp";
    fs.writeFileSync(tmp, await page.screenshot());
    fs.renameSync(tmp, f);
    out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------- main
async function main() {
  const notebooks = parseArgs(process.argv.slice(2));
  const why = missing();
  if (why) {
    console.error(`browser.js: cannot run: ${why}`);
    return 2;
  }
  const t0 = Date.now();
  const { dir, work } = scratchFolder();
  const server = await startServer(dir, work);
  const context = await startBrowser(dir);
  let failed = 0;
  for (const file of notebooks) {
    const r = await runNotebook(context, server, file);
    const s = r.state;
    const line = `${file}: ${s.prompts.length} code cells, ${s.figures} figures, ${s.tables} tables, ${s.typeset} typeset equations, ${r.secs.toFixed(1)} s; screenshots ${path.relative(root, r.shots[0] || opts.shots)} (+${Math.max(0, r.shots.length - 1)})`;
    if (r.fails.length) {
      failed++;
      console.error(`FAILED ${line}\n  - ${r.fails.join("\n  - ")}`);
    } else {
      console.log(`ok ${line}`);
    }
  }
  console.log(`browser test: ${notebooks.length - failed}/${notebooks.length} notebooks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]]) {
    process.once(sig, () => {
      console.error(`browser.js: ${sig}: stopping the browser and the Jupyter server`);
      cleanup().finally(() => process.exit(code));
    });
  }
  main()
    .catch((e) => {
      console.error(`browser.js: ${e.stack || e}`);
      return 1;
    })
    .then(async (code) => {
      await cleanup();
      process.exit(code);
    });
}
module.exports = { missing };
