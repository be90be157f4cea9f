/**
 * tslab's cross-cell identifier rewriting, through the real kernel (tools/notebooks/kernel-main.js over the Jupyter
 * protocol): names declared in one cell and used in the next as shorthand properties (`pcSample({ sde, … })`),
 * in destructuring, in object methods and classes, and names re-declared in a later cell. The exported test/nb
 * notebook tests run all cells in one scope and cannot see this; only the kernel compiles cell by cell.
 * The same cells on unpatched tslab (SCORE_SDE_TSLAB_PATCH=0) fail — the bug report is tools/notebooks/TSLAB-BUG.md.
 * Also: `stop_on_error: false` (nbconvert --allow-errors) runs the cell right after a failing one.
 */
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";
import { withKernel } from "./kernelClient";

fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", "nb-tslab-patch-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.writeFileSync(path.join(dir, "m.ts"), "export class VPSDE { N = 1000; }\n");

/** Cells in order and what each must print (one line). */
const CELLS: [string, string][] = [
  [
    'import { VPSDE } from "./m";\n' +
      "const sde = new VPSDE();\nlet k = 2;\nconst o = { sde: 5, k: 6 };\n" +
      "function steps(opts: { sde: VPSDE; k?: number }): number { return opts.sde.N + (opts.k ?? 0); }\n" +
      "class Base { base(): number { return 1; } }\nconsole.log('defined');",
    "defined",
  ],
  // shorthand properties naming earlier cells' variables and imports (the library's calling convention)
  ["console.log(steps({ sde }), steps({ sde, k }));", "1000 1002"],
  ["const kit = { VPSDE, sde, k };\nconsole.log(new kit.VPSDE().N, kit.k);", "1000 2"],
  // destructuring: property names of an earlier cell's object, assignment patterns (with a default) to an earlier `let`
  [
    "const { sde: s5, k: k6 = 0 } = o;\nlet z = 0;\nfor (const { sde: w } of [o]) z += w;\n({ k } = { k: 9 });\nconsole.log(s5, k6, z, k);",
    "5 6 5 9",
  ],
  ["({ k = 4 } = {});\nconsole.log(k);", "4"],
  // object methods, accessors and classes whose bodies use earlier cells' names, also as shorthand
  [
    "const m = { sde() { return k; }, get o() { return sde.N; } };\n" +
      "class D extends Base { both() { return { k, sde }; } }\nconsole.log(m.sde(), m.o, new D().base(), new D().both().sde.N);",
    "4 1000 1 1000",
  ],
  // a name re-declared in a later cell: that cell and the cells after it see the new value
  ['const sde = { N: 7 } as VPSDE;\nconsole.log(steps({ sde }), JSON.stringify({ sde }));', '7 {"sde":{"N":7}}'],
  ["console.log(steps({ sde, k }), o.sde);", "11 5"],
];

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("tslab kernel: names across cells", { concurrency: false }, () => {
  it("shorthand properties, destructuring, methods and re-declared names work across cells (patched)", async () => {
    await withKernel(dir, {}, async (exec) => {
      for (const [i, [code, want]] of CELLS.entries()) {
        const r = await exec(code);
        assert.equal(r.status, "ok", `cell ${i + 1} failed:\n${code}\n${r.out}`);
        assert.equal(r.out, want, `cell ${i + 1}:\n${code}`);
      }
    });
  });

  it("on unpatched tslab the same cells fail (SCORE_SDE_TSLAB_PATCH=0)", async () => {
    await withKernel(dir, { SCORE_SDE_TSLAB_PATCH: "0" }, async (exec) => {
      const got: { status: string; out: string }[] = [];
      for (const [code] of CELLS) {
        got.push(await exec(code));
        await pause(300); // tslab aborts what arrives within 200 ms of a failure
      }
      assert.equal(got[0].out, "defined");
      assert.equal(got[1].status, "error");
      assert.match(got[1].out, /ReferenceError: sde is not defined/);
      const wrong = CELLS.filter(([, want], i) => got[i].status !== "ok" || got[i].out !== want).length;
      assert.ok(wrong >= 5, `expected most cells to fail unpatched, ${wrong} did: ${JSON.stringify(got)}`);
    });
  });

  it("files created and removed under the kernel while a cell runs raise no 'Unexpected pending rebuildTimer'", async () => {
    const mod = path.join(dir, "mod");
    fs.mkdirSync(path.join(mod, "sub"), { recursive: true });
    fs.writeFileSync(path.join(mod, "a.ts"), "export const a = 1;\n");
    fs.writeFileSync(path.join(mod, "index.ts"), 'export { a } from "./a";\n');
    await withKernel(dir, {}, async (exec) => {
      assert.deepEqual(await exec('import { a } from "./mod";\nconsole.log(a);').then((r) => [r.status, r.out]), ["ok", "1"]);
      const running = exec('await new Promise((r) => setTimeout(r, 5000));\nconsole.log("slept");');
      await pause(1000);
      fs.rmSync(path.join(mod, "sub"), { recursive: true });
      fs.writeFileSync(path.join(mod, "b.ts"), "export const b = 2;\n");
      fs.writeFileSync(path.join(mod, "index.ts"), 'export { a } from "./a";\nexport { b } from "./b";\n');
      assert.deepEqual(await running.then((r) => [r.status, r.out]), ["ok", "slept"]);
      assert.deepEqual(await exec('import { a, b } from "./mod";\nconsole.log(a, b);').then((r) => [r.status, r.out]), ["ok", "1 2"]);
    });
  });

  it("stop_on_error: false runs the next cell at once after a failure; the default aborts it", async () => {
    await withKernel(dir, {}, async (exec) => {
      assert.equal((await exec('throw new Error("boom");', false)).status, "error");
      const next = await exec("console.log('ran');", false);
      assert.deepEqual([next.status, next.out], ["ok", "ran"]);
      assert.equal((await exec('throw new Error("boom");')).status, "error");
      assert.equal((await exec("console.log('ran');")).status, "abort", "tslab's stop-on-error default is kept");
    });
  });
});
