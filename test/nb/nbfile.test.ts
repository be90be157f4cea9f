/**
 * tools/notebooks/nbfile.js writes notebooks as Jupyter does (one-space indent, sorted keys, sources as lists of
 * lines), except that arrays of numbers go on one line: the written file parses to the same notebook, plotly data
 * takes one line per array, and strings that look like arrays are left as they were.
 */
import { it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../helpers";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nbfile = require(path.join(ROOT, "tools/notebooks/nbfile.js")) as {
  readNotebook: (file: string) => Record<string, unknown>;
  writeNotebook: (file: string, nb: Record<string, unknown>) => void;
};

it("writes arrays of numbers on one line and leaves everything else as Jupyter writes it", () => {
  const fig = { data: [{ type: "heatmap", x: [-1, 0.5, 2e-7], z: [[1, null, -3.25], [4, 5, 6]] }], layout: { width: 400 } };
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "code", id: "c1", metadata: {}, execution_count: 1, source: "const a = [1,\n  2];\nshow([3, 4]);\n", outputs: [
        { output_type: "display_data", metadata: {}, data: { "application/vnd.plotly.v1+json": fig, "text/plain": "[1, 2]\n[3,\n4]" } },
      ] },
    ],
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbfile-"));
  try {
    const file = path.join(dir, "n.ipynb");
    nbfile.writeNotebook(file, nb);
    const text = fs.readFileSync(file, "utf8");
    const back = JSON.parse(text);
    assert.deepEqual(back.cells[0].outputs[0].data["application/vnd.plotly.v1+json"], fig);
    assert.deepEqual(back.cells[0].source, ["const a = [1,\n", "  2];\n", "show([3, 4]);\n"]);
    assert.equal(back.cells[0].outputs[0].data["text/plain"].join(""), "[1, 2]\n[3,\n4]");
    assert.match(text, /\n {9}"x": \[-1,0\.5,2e-7\],\n/);
    assert.match(text, /\n {10}\[1,null,-3\.25\],\n {10}\[4,5,6\]\n/);
    assert.match(text, /\n "nbformat": 4,\n/, "the rest keeps Jupyter's one-space indent");
    assert.deepEqual(nbfile.readNotebook(file).cells, back.cells);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
