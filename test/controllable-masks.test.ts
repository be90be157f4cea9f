/** lib/controllable/masks.ts: inpainting masks by region name for any H×W×C (1 = known, 0 = to fill in). */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { INPAINT_REGIONS, regionMask, regionMaskValues } from "../lib/controllable";

/** Rows (or columns) of an H×W mask that are entirely missing. */
const missingRows = (m: Float32Array, H: number, W: number) => Array.from({ length: H }, (_, y) => y).filter((y) => m.subarray(y * W, (y + 1) * W).every((v) => v === 0));
const missingCols = (m: Float32Array, H: number, W: number) => Array.from({ length: W }, (_, x) => x).filter((x) => Array.from({ length: H }, (_, y) => m[y * W + x]).every((v) => v === 0));

describe("regionMask", () => {
  it("halves and centre of 28×28 and of odd sizes; equal over channels", () => {
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    assert.deepEqual(missingRows(regionMaskValues("bottom", 28, 28), 28, 28), range(14, 28));
    assert.deepEqual(missingRows(regionMaskValues("top", 28, 28), 28, 28), range(0, 14));
    assert.deepEqual(missingCols(regionMaskValues("left", 28, 28), 28, 28), range(0, 14));
    assert.deepEqual(missingCols(regionMaskValues("right", 28, 28), 28, 28), range(14, 28));
    const c = regionMaskValues("center", 28, 28);
    assert.equal(c.filter((v) => v === 0).length, 14 * 14);
    for (const [y, x, v] of [[7, 7, 0], [20, 20, 0], [6, 7, 1], [7, 21, 1], [14, 14, 0]]) assert.equal(c[y * 28 + x], v, `centre (${y}, ${x})`);
    // Odd sizes: bottom/right take ⌈·/2⌉, top/left ⌈·/2⌉ too (the middle row or column is missing in both).
    assert.deepEqual(missingRows(regionMaskValues("bottom", 5, 3), 5, 3), [2, 3, 4]);
    assert.deepEqual(missingRows(regionMaskValues("top", 5, 3), 5, 3), [0, 1, 2]);
    const rgb = regionMaskValues("left", 4, 6, 3);
    for (let p = 0; p < 24; p++) assert.ok(rgb[3 * p] === rgb[3 * p + 1] && rgb[3 * p] === rgb[3 * p + 2]);
    for (const r of INPAINT_REGIONS) {
      const m = regionMaskValues(r, 7, 9);
      assert.ok(m.some((v) => v === 0) && m.some((v) => v === 1), r);
    }
    const t = regionMask("bottom", 28, 28, 1);
    assert.deepEqual(t.shape, [28, 28, 1]);
    t.dispose();
  });

  it("refuses bad regions and sizes with the parameter's name", () => {
    assert.throws(() => regionMaskValues("middle" as never, 28, 28), /region.*middle.*one of bottom, top, left, right, center/);
    assert.throws(() => regionMaskValues("top", 1, 28), /height.*1.*≥ 2/);
    assert.throws(() => regionMaskValues("top", 28, 2.5), /width/);
    assert.throws(() => regionMaskValues("top", 28, 28, 0), /channels/);
  });
});
