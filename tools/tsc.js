#!/usr/bin/env node
// The project's TypeScript compile (`npm run build`, `npm run typecheck`, step 1 of `npm test`): tsc with the
// project's tsconfig, plus one difference — every resolved import is mapped to its real path.
//
// Why: tslab compiles only files below the kernel's folder (its rootDir is the notebook folder), so notebooks and
// the experiments beside them (notebooks/experiments/) reach the library through the `notebooks/lib -> ../lib`
// symlink, as `../lib/...`. Plain tsc does not follow symlinks for relative imports, so a test importing both
// `lib/random` and an experiment would see two copies of every library class (`lib/random.ts` and
// `notebooks/lib/random.ts`), which are different types to the checker ("separate declarations of a private
// property"). Node resolves the symlink at run time anyway; this makes the checker agree with Node.
// The compiled experiments still say `require("../lib/...")`, so build/notebooks/lib links to ../lib as in the
// source tree.
//
//   node tools/tsc.js [--noEmit]
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");

const root = path.resolve(__dirname, "..");
const noEmit = process.argv.includes("--noEmit");
const unknown = process.argv.slice(2).filter((a) => a !== "--noEmit");
if (unknown.length) {
  console.error(`tools/tsc.js: unknown argument ${unknown.join(" ")} (allowed: --noEmit)`);
  process.exit(2);
}

const configPath = path.join(root, "tsconfig.json");
const read = ts.readConfigFile(configPath, ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, root, noEmit ? { noEmit: true } : {}, configPath);
const host = ts.createCompilerHost(parsed.options);
const real = (p) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
};
host.resolveModuleNameLiterals = (literals, containingFile, redirected, options) =>
  literals.map((lit) => {
    const r = ts.resolveModuleName(lit.text, containingFile, options, host, undefined, redirected);
    if (r.resolvedModule && !r.resolvedModule.isExternalLibraryImport) {
      r.resolvedModule = { ...r.resolvedModule, resolvedFileName: real(r.resolvedModule.resolvedFileName) };
    }
    return r;
  });

const program = ts.createProgram({ rootNames: parsed.fileNames.map(real), options: parsed.options, host, projectReferences: parsed.projectReferences });
const emitted = program.emit();
const diagnostics = [...read.error ? [read.error] : [], ...parsed.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (diagnostics.length) {
  const fmt = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
  console.error(ts.formatDiagnosticsWithColorAndContext(ts.sortAndDeduplicateDiagnostics(diagnostics), fmt));
  process.exit(1);
}
if (!noEmit && parsed.options.outDir) {
  const link = path.join(parsed.options.outDir, "notebooks", "lib");
  if (fs.existsSync(path.join(parsed.options.outDir, "notebooks"))) {
    const st = fs.lstatSync(link, { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink()) fs.rmSync(link, { recursive: true, force: true }); // left by an older layout
    if (!st || !st.isSymbolicLink()) fs.symlinkSync(path.join("..", "lib"), link);
  }
}
