/**
 * The library's import graph (issue #11): lib/ never reaches outside itself (the experiments, the tools and the
 * repository's result folders live in notebooks/experiments/ and tools/), and training sits below sampling and likelihoods.
 * Read from the sources (relative import specifiers), so it needs no build and no backend.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

/** The checkout: the nearest folder above the compiled test that holds lib/index.ts. */
const ROOT = ((): string => {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "lib", "index.ts"))) return d;
    if (path.dirname(d) === d) throw new Error(`no lib/index.ts above ${__dirname}`);
  }
})();
const LIB = path.join(ROOT, "lib");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The files a source imports or re-exports by relative path (resolved to .ts files or folder index.ts). */
function relativeImports(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]*)"/g)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const hit = [`${base}.ts`, path.join(base, "index.ts")].find((c) => fs.existsSync(c));
    out.push(hit ?? base);
  }
  return out;
}

/** Every lib file reachable from `start` through relative imports. */
function closure(start: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const f = todo.pop() as string;
    if (seen.has(f) || !f.startsWith(LIB) || !fs.existsSync(f)) continue;
    seen.add(f);
    todo.push(...relativeImports(f));
  }
  return seen;
}

const rel = (f: string): string => path.relative(ROOT, f).split(path.sep).join("/");

describe("import graph of lib/", () => {
  const files = sources(LIB);

  it("finds the library's sources", () => {
    assert.ok(files.length > 40, `${files.length} files under lib/`);
  });

  it("no lib module imports anything outside lib/", () => {
    const outside = files.flatMap((f) => relativeImports(f).filter((t) => !t.startsWith(LIB + path.sep)).map((t) => `${rel(f)} → ${rel(t)}`));
    assert.deepEqual(outside, []);
  });

  it("no lib module names the repository or its result folders", () => {
    const hits = files.filter((f) => /repoRoot|data\/results|"data",\s*"results"|score-sde-ts"\)?\s*return/.test(fs.readFileSync(f, "utf8"))).map(rel);
    assert.deepEqual(hits, []);
  });

  it("train/ reaches neither sampling, nor the ODE solvers, nor likelihoods", () => {
    const reach = [...closure(files.filter((f) => f.startsWith(path.join(LIB, "train") + path.sep)))].map(rel);
    const above = reach.filter((f) => f.startsWith("lib/sampling/") || f.startsWith("lib/ode/") || f === "lib/likelihood.ts");
    assert.deepEqual(above, [], `train/ imports (transitively): ${reach.join(", ")}`);
  });
});
