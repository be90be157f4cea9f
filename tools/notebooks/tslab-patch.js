// Three fixes to tslab 1.0.22's kernel, installed at load time by kernel-main.js (node_modules stays untouched; tslab
// is pinned exactly in package.json because both rely on its internals). `SCORE_SDE_TSLAB_PATCH=0` starts the kernel
// without them (the regression test uses it to show the bugs).
//
// 1. Cross-cell identifiers (tools/notebooks/TSLAB-BUG.md has the full report). tslab compiles each cell as a module
//    and rewrites every identifier that refers to an earlier cell's declaration into `exports.<name>`
//    (`wrapPrevIdentifier` in tslab/dist/converter.js). It asks the type checker for the symbol *at the identifier*,
//    which is wrong in two places:
//      - a shorthand property `{ sde }` (object literal or destructuring assignment): the symbol at `sde` is the
//        new object's property, not the variable, so it is left alone and the cell fails at run time with
//        `ReferenceError: sde is not defined` — or, in a destructuring assignment `({ k } = o)`, silently assigns
//        a new global `k` and leaves the earlier cell's `k` unchanged;
//      - a property *name* whose symbol is declared in an earlier cell (`const { sde: s } = prevObject`,
//        `for (const { sde: z } of prevArray)`) is replaced by `exports.sde`, which prints as the binding name
//        `exports` — the cell then shadows `exports` and fails with a confusing TDZ error.
//    The fix runs first in wrapPrevIdentifier: a shorthand property whose *value* symbol
//    (`checker.getShorthandAssignmentValueSymbol`) comes from an earlier cell becomes `sde: exports.sde`
//    (`k = 1` defaults in assignment patterns become `k: exports.k = 1`), and identifiers in name positions
//    (property, method, binding-element property names, labels) are never rewritten.
// 2. `stop_on_error: false` (Jupyter messaging 5.x; nbclient sends it for `--allow-errors`). After a failing cell
//    tslab aborts every request that arrives in the next 200 ms, whatever the client asked, so
//    `jupyter nbconvert --execute --allow-errors` left every cell after the first error silently empty. With
//    `stop_on_error: false` a failure no longer poisons the queue; the default (true) keeps tslab's behaviour,
//    which is what Jupyter's "Run All" expects (the cells below a failure are aborted, as in IPython).
// 3. Files created or removed below the notebook's folder while the kernel runs no longer raise "Unexpected pending
//    rebuildTimer" (see TIMER_FIX below).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");

/** The exact text in tslab 1.0.22's converter.js that the first fix hooks into (checked, never guessed). */
const ANCHOR = `        function wrapPrevIdentifier(node) {
            var _a, _b;
`;
/**
 * Third fix: tslab runs TypeScript's watch program with a fake timer that holds ONE pending callback and throws
 * "Unexpected pending rebuildTimer" when TypeScript asks for a second. TypeScript does ask for two when files are
 * created, removed or renamed below the notebook's folder (its failed-lookup invalidation timer besides the program
 * update timer) — an editor saving lib/ files, or a git checkout, while a notebook is open — and the error lands in
 * the running cell or fails the next one. The replacement keeps every pending callback and runs them all, in order,
 * when tslab rebuilds (a callback may schedule another: that one runs too).
 */
const TIMER_ANCHOR = `    let rebuildTimer = null;
    sys.setTimeout = (callback) => {
        // TypeScript compier implements debouncing using a timer.
        // It clears a timer when a new change is notified before the timer
        // is fired and it starts rebuilding sources.
        //
        // In this converter, it often happens when notifyUpdateSrc and
        // notifyUpdateDecls are called in sequence.
        if (rebuildTimer) {
            throw new Error("Unexpected pending rebuildTimer");
        }
        rebuildTimer = {
            callback: () => {
                callback();
                rebuildTimer = null;
            },
        };
        return rebuildTimer;
    };
    sys.clearTimeout = (timeoutId) => {
        if (rebuildTimer === timeoutId) {
            rebuildTimer = null;
            return;
        }
        throw new Error("clearing unexpected tiemr");
    };
`;
const TIMER_FIX = `    let rebuildTimer = null;
    const pendingTimers = [];
    const runPendingTimers = () => {
        while (pendingTimers.length) pendingTimers.shift().fn();
        rebuildTimer = null;
    };
    sys.setTimeout = (callback) => {
        const handle = { fn: callback };
        pendingTimers.push(handle);
        rebuildTimer = { callback: runPendingTimers };
        return handle;
    };
    sys.clearTimeout = (handle) => {
        const i = pendingTimers.indexOf(handle);
        if (i >= 0) pendingTimers.splice(i, 1);
        if (pendingTimers.length === 0) rebuildTimer = null;
    };
`;
const HOOK = `            { const fixed = __scoreSdeTslabPatch.visitCrossCell(node, { ts, checker, declsFile, visit: wrapPrevIdentifier, context: nullTransformationContext }); if (fixed !== undefined) return fixed; }
`;

/** Whether a symbol has a declaration in the previous cells' declaration file. */
function fromEarlierCell(symbol, declsFile) {
  return !!symbol && (symbol.declarations || []).some((d) => d.getSourceFile() === declsFile);
}

/**
 * Called first for every node wrapPrevIdentifier visits. Returns the replacement node, or undefined to let tslab's
 * own code handle the node.
 */
function visitCrossCell(node, { ts, checker, declsFile, visit, context }) {
  const f = ts.factory;
  if (ts.isShorthandPropertyAssignment(node)) {
    const original = ts.getOriginalNode(node);
    if (!original.parent || !fromEarlierCell(checker.getShorthandAssignmentValueSymbol(original), declsFile)) {
      return ts.visitEachChild(node, visit, context); // only the default value can refer to earlier cells
    }
    const name = node.name.text;
    let value = f.createPropertyAccessExpression(f.createIdentifier("exports"), name);
    if (node.objectAssignmentInitializer) {
      // `({ k = 1 } = o)` means `({ k: k = 1 } = o)`
      value = f.createAssignment(value, ts.visitNode(node.objectAssignmentInitializer, visit));
    }
    return ts.setTextRange(f.createPropertyAssignment(f.createIdentifier(name), value), node);
  }
  if (ts.isIdentifier(node) && node.parent && isNamePosition(ts, node)) return node;
  return undefined;
}

/** Identifiers that name something (a property, a method, a label) rather than refer to a variable. */
function isNamePosition(ts, node) {
  const p = node.parent;
  if (ts.isShorthandPropertyAssignment(p)) return false; // handled above: its name IS the reference
  if (ts.isBindingElement(p)) return p.propertyName === node; // `{ a: b }` binding: a is a name, b a new local
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return p.label === node;
  if (ts.isPropertyAccessExpression(p) || ts.isQualifiedName(p)) return p.name === node || p.right === node;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return true;
  if (ts.isMetaProperty(p)) return true;
  // declarations and members: a property assignment, method, accessor, class field, enum member, parameter, …
  return "name" in p && p.name === node;
}

/**
 * Loads tslab's converter.js with the first fix hooked in and registers it in require's cache under its own file
 * name, so that tslab's main.js and jupyter.js get the patched module when they require "./converter".
 * Must run before anything requires tslab. Throws when the hook point is not found (a different tslab version).
 */
function installConverterFix(tslabDist) {
  const file = fs.realpathSync(path.join(tslabDist, "converter.js"));
  if (require.cache[file]) throw new Error(`tslab-patch: ${file} was loaded before the patch could be installed`);
  const src = fs.readFileSync(file, "utf8");
  const at = src.indexOf(ANCHOR);
  if (at < 0 || src.indexOf(ANCHOR, at + 1) >= 0) {
    const version = require(path.join(tslabDist, "..", "package.json")).version;
    throw new Error(
      `tslab-patch: wrapPrevIdentifier in ${file} is not the one this patch was written for (tslab ${version}; ` +
        "the patch expects 1.0.22, pinned in package.json). Re-check tools/notebooks/TSLAB-BUG.md against the new " +
        "version, or set SCORE_SDE_TSLAB_PATCH=0 to run tslab unpatched.",
    );
  }
  const timerAt = src.indexOf(TIMER_ANCHOR);
  if (timerAt < 0) throw new Error(`tslab-patch: the rebuild timer of ${file} is not the one this patch was written for (tslab 1.0.22 expected)`);
  let patched = src.slice(0, at + ANCHOR.length) + HOOK + src.slice(at + ANCHOR.length);
  patched = patched.replace(TIMER_ANCHOR, TIMER_FIX);
  patched = `const __scoreSdeTslabPatch = require(${JSON.stringify(__filename)});\n` + patched;
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  mod._compile(patched, file);
  mod.loaded = true;
  require.cache[file] = mod;
}

/** The second fix: honour `stop_on_error: false` in execute requests. */
function installStopOnErrorFix(tslabDist) {
  const { JupyterHandlerImpl } = require(path.join(tslabDist, "jupyter.js"));
  const { TaskCanceledError } = require(path.join(tslabDist, "util.js"));
  const original = JupyterHandlerImpl.prototype.handleExecute;
  if (typeof original !== "function" || typeof JupyterHandlerImpl.prototype.handleExecuteImpl !== "function") {
    throw new Error("tslab-patch: JupyterHandlerImpl.handleExecute(Impl) not found (tslab 1.0.22 expected)");
  }
  JupyterHandlerImpl.prototype.handleExecute = async function handleExecuteHonouringStopOnError(req, writeStream, writeDisplayData) {
    if (!req || req.stop_on_error !== false) return original.call(this, req, writeStream, writeDisplayData);
    const task = this.execQueue.add(() => this.handleExecuteImpl(req, writeStream, writeDisplayData));
    // This cell's own failure must not cancel the requests queued after it; a cancellation inherited from an
    // earlier stop-on-error failure still propagates.
    this.execQueue.prev = task.catch((e) => {
      if (e instanceof TaskCanceledError) throw e;
    });
    try {
      const count = await task;
      return { status: "ok", execution_count: count ? count.count : undefined };
    } catch (e) {
      if (e instanceof TaskCanceledError) return { status: "abort", execution_count: undefined };
      if (e && typeof e.count === "number") return { status: "error", execution_count: e.count }; // tslab's ExecutionCount
      console.error("unexpected error:", e);
      return { status: "error", execution_count: undefined };
    }
  };
}

/** Installs the fixes unless SCORE_SDE_TSLAB_PATCH=0. */
function install(tslabDist) {
  if (process.env.SCORE_SDE_TSLAB_PATCH === "0") return;
  installConverterFix(tslabDist);
  installStopOnErrorFix(tslabDist);
}

module.exports = { install, visitCrossCell, isNamePosition };
