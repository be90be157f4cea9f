/** lib/viz: pure figure builders, display bundles (no kernel here: nothing is displayed), the quick-mode helpers. */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { circle, wrapTitle, Panel, errorMarkers, field, figureBundle, grid, lineFigure, lines, noiseBand, meshgrid, quiver, quickOr, isQuick, inKernel, scatter2d, show, tableBundle, trajectories, PLOTLY_MIME, NOTEBOOK_WIDTH, chromiumPath, sharedRenderer, closeSharedRenderer } from "../../lib/viz";

describe("figure builders", () => {
  it("grid gives panel k its own axis pair with domains and titles", () => {
    const p = { traces: [{ type: "scatter", x: [0], y: [0] }] };
    const fig = grid([[{ ...p, title: "a" }, p], [p]], { title: "g", hgap: 0.1, vgap: 0.2 });
    assert.deepEqual(fig.data.map((t) => [t.xaxis, t.yaxis]), [["x", "y"], ["x2", "y2"], ["x3", "y3"]]);
    assert.deepEqual(fig.layout.xaxis2, { domain: [0.55, 1], anchor: "y2" });
    assert.deepEqual((fig.layout.yaxis3 as { domain: number[] }).domain, [0, 0.4]);
    assert.equal((fig.layout.annotations as { text: string }[])[0].text, "a");
    assert.throws(() => grid([]), /non-empty/);
  });

  it("quiver draws one shaft and two barbs per non-zero vector, scaled to maxLength", () => {
    const tr = quiver([0, 0, 1, 1, 2, 2], [3, 4, 0, 0, 0, 1], { maxLength: 0.5 });
    const x = tr.x as (number | null)[];
    const y = tr.y as (number | null)[];
    assert.equal(x.length, 14, "the zero vector is skipped");
    assert.deepEqual([x[0], y[0], x[1], y[1]], [0, 0, 0.3, 0.4]); // |(3,4)| = 5 is the longest → length 0.5
    assert.ok(Math.abs((y[8] as number) - 2.1) < 1e-12, "the unit vector gets 0.5 · 1/5 = 0.1");
    const norm = quiver([0, 0, 2, 2], [3, 4, 0, 1], { maxLength: 0.5, normalize: true }).y as number[];
    assert.ok(Math.abs(norm[8] - 2.5) < 1e-12, "normalize draws every arrow at maxLength");
  });

  it("field, scatter2d, trajectories, meshgrid, lineFigure shape the data as plotly expects", () => {
    const g = meshgrid(-1, 1, 0, 2, 3, 2);
    assert.deepEqual(g.xs, [-1, 0, 1]);
    assert.deepEqual(Array.from(g.points.slice(0, 8)), [-1, 0, 0, 0, 1, 0, -1, 2]);
    const f = field(g.xs, g.ys, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(f.z, [[1, 2, 3], [4, 5, 6]]);
    assert.throws(() => field([0, 1], [0], [1]), /expected 2 × 1/);
    assert.deepEqual(scatter2d([1, 2, 3, 4]).x, [1, 3]);
    const tr = trajectories([[0, 0, 5, 5], [1, 1, 6, 6]], { maxPaths: 1 });
    assert.deepEqual(tr[0].x, [0, 1, null]);
    assert.deepEqual(tr[1].x, [1], "end points of the drawn paths");
    const lf = lineFigure([{ name: "a", x: [0, 1], y: [2, 3] }], { logY: true });
    assert.deepEqual(lf.layout.yaxis, { title: { text: "" }, type: "log" });
  });
});

describe("display", () => {
  it("figureBundle carries the live figure, a text fallback and the figure name", () => {
    const fig = lineFigure([{ name: "a", x: [0], y: [1] }], { title: "T" });
    const b = figureBundle(fig, { name: "n1", width: 300 });
    assert.equal(b.data[PLOTLY_MIME], fig);
    assert.equal(b.data["text/plain"], '<plotly figure "n1": T (1 traces)>');
    assert.deepEqual(b.metadata, { "score-sde-ts": { figure: "n1", width: 300, height: undefined }, "image/png": { width: 300, height: 400 } });
  });

  it("circle, noiseBand and errorMarkers build the traces the notebooks used to write inline", () => {
    const c = circle(2, { points: 4 });
    assert.deepEqual((c.x as number[]).map((v) => Math.round(v * 1e9) / 1e9), [2, 0, -2, -0, 2].map((v) => Math.round(v * 1e9) / 1e9));
    assert.equal(c.showlegend, false);
    const [hi, lo] = noiseBand(["a", "b"], 1, 0.75);
    assert.deepEqual([hi.y, lo.y], [[2.5, 2.5], [0, 0]], "mean ± 2 std, the lower line clamped at 0");
    assert.equal((hi.line as { dash: string }).dash, "dot");
    const m = errorMarkers(["a", "b"], [1, 2], [0.1, 0.2], { color: ["#f00", "#00f"] });
    assert.deepEqual([m.y, m.error_y, m.marker], [[1, 2], { type: "data", array: [0.1, 0.2] }, { color: ["#f00", "#00f"] }]);
    assert.throws(() => errorMarkers(["a"], [1, 2], [0]), /one value per point, got 1, 2, 1/);
    assert.equal(lines([{ name: "s", x: [0], y: [1], markers: true, showlegend: false }])[0].mode, "lines+markers");
    assert.equal(grid([[{ traces: [] }]], { margin: { b: 110 } }).layout.margin && (grid([[{ traces: [] }]], { margin: { b: 110 } }).layout.margin as { b: number }).b, 110);
  });

  it("grid narrows its panels to the notebook column, keeping their aspect ratio", () => {
    const p = { traces: [scatter2d([0, 0])] };
    const wide = grid([[p, p, p, p, p]], { panelWidth: 300, panelHeight: 300 });
    assert.equal(wide.layout.width, 80 + 5 * Math.floor((NOTEBOOK_WIDTH - 80) / 5));
    assert.ok((wide.layout.width as number) <= NOTEBOOK_WIDTH);
    assert.equal(wide.layout.height, 172 + 60, "square panels stay square");
    assert.equal(grid([[p, p]], { panelWidth: 300 }).layout.width, 680, "a figure that fits keeps its size");
  });

  it("grid wraps panel titles wider than their panel and keeps them off the tick labels of the row above", () => {
    assert.equal(wrapTitle("VE P1000 prob. flow", 80), "VE P1000<br>prob. flow");
    assert.equal(wrapTitle("VE learned: PC1000 reverse diffusion", 178), "VE learned: PC1000<br>reverse diffusion", "balanced lines");
    assert.equal(wrapTitle("drift coefficient f(1, t)", 178), "drift coefficient f(1, t)");
    assert.equal(wrapTitle("short", 110), "short");
    assert.equal(wrapTitle("a<br>b c", 1000), "a<br>b c", "explicit line breaks are kept");
    // Notebook 04's mode-shape grid: 2 rows × 7 columns of square panels with titles such as "VE P1000 prob. flow".
    const panel = (title: string): Panel => ({ title, traces: [scatter2d([0, 0])] });
    const row = (sde: string): Panel[] => ["true samples", "C2000", "P1000 ancestral", "P1000 rev. diff.", "P1000 prob. flow", "P2000 prob. flow", "PC1000 rev. diff."].map((t) => panel(`${sde} ${t}`));
    for (const outerTickLabelsOnly of [false, true]) {
      const fig = grid([row("VE"), row("VP")], { title: "t", panelWidth: 210, panelHeight: 210, outerTickLabelsOnly });
      const L = fig.layout as Record<string, unknown> & { width: number; height: number; margin: { l: number; r: number; t: number; b: number } };
      const plotW = L.width - L.margin.l - L.margin.r;
      const plotH = L.height - L.margin.t - L.margin.b;
      const annotations = L.annotations as { text: string; x: number; y: number }[];
      const px = (a: { domain: number[] }): number => (a.domain[1] - a.domain[0]) * plotW;
      const panelPx = px(L.xaxis as { domain: number[] });
      for (const a of annotations) {
        for (const line of a.text.split("<br>")) assert.ok(line.length * 0.5 * 13 <= panelPx, `"${line}" fits a ${panelPx.toFixed(0)} px panel`);
      }
      // Room between the bottom of row 0 and the top of row 1: the x tick labels (when shown) plus every title line.
      const bottom0 = (L.yaxis as { domain: number[] }).domain[0];
      const top1 = (L.yaxis8 as { domain: number[] }).domain[1];
      const lines1 = Math.max(...annotations.slice(7).map((a) => a.text.split("<br>").length));
      assert.ok(lines1 >= 2, "the long titles are wrapped");
      assert.ok((bottom0 - top1) * plotH >= (outerTickLabelsOnly ? 4 : 24) + lines1 * 17, `gap ${((bottom0 - top1) * plotH).toFixed(0)} px`);
      assert.equal((L.xaxis as { showticklabels?: boolean }).showticklabels, outerTickLabelsOnly ? false : undefined);
      assert.equal((L.xaxis8 as { showticklabels?: boolean }).showticklabels, undefined, "bottom row keeps its x labels");
      assert.equal((L.yaxis9 as { showticklabels?: boolean }).showticklabels, outerTickLabelsOnly ? false : undefined);
      assert.ok(L.width <= NOTEBOOK_WIDTH);
    }
  });

  it("tableBundle renders danfo-like frames and record arrays as HTML and aligned text", () => {
    const frame = { columns: ["x", "y<"], values: [[1, 0.123456], [22, 3]], index: ["r0", "r1"] };
    const b = tableBundle(frame, 3);
    assert.match(b.data["text/html"] as string, /<th>y&lt;<\/th>/);
    assert.match(b.data["text/html"] as string, /<tr><th>r0<\/th><td>1<\/td><td>0\.123<\/td><\/tr>/);
    assert.equal(b.data["text/plain"], "     x     y<\nr0   1  0.123\nr1  22      3");
    const r = tableBundle([{ a: 1 }, { b: "z" }]);
    assert.match(r.data["text/html"] as string, /<th>a<\/th><th>b<\/th>/);
  });

  it("outside a kernel show() displays nothing and does not throw", async () => {
    assert.equal(inKernel(), false);
    await show(lineFigure([{ name: "a", x: [0], y: [1] }]));
  });
});

describe("run mode", () => {
  it("isQuick / quickOr follow SCORE_SDE_QUICK", () => {
    const old = process.env.SCORE_SDE_QUICK;
    try {
      process.env.SCORE_SDE_QUICK = "1";
      assert.equal(isQuick(), true);
      assert.equal(quickOr(10, 1000), 10);
      process.env.SCORE_SDE_QUICK = "0";
      assert.equal(quickOr(10, 1000), 1000);
      delete process.env.SCORE_SDE_QUICK;
      assert.equal(isQuick(), false);
    } finally {
      if (old === undefined) delete process.env.SCORE_SDE_QUICK;
      else process.env.SCORE_SDE_QUICK = old;
    }
  });
});

describe("figure renderer", () => {
  it("the shared Chromium is opened on first use and closed when idle", { skip: chromiumPath() ? false : "no Chromium" }, async () => {
    const old = process.env.SCORE_SDE_RENDER_IDLE;
    process.env.SCORE_SDE_RENDER_IDLE = "0.5";
    try {
      const fig = lineFigure([{ name: "a", x: [0, 1], y: [1, 2] }], { width: 300, height: 200 });
      const r = await sharedRenderer();
      const png = await r.render(fig, "png");
      assert.equal(png.readUInt32BE(16), 600, "PNG at device scale 2: 300 CSS px → 600 px");
      await new Promise((res) => setTimeout(res, 1500));
      await assert.rejects(r.render(fig, "png"), "after 0.5 s idle its browser is closed");
    } finally {
      await closeSharedRenderer();
      if (old === undefined) delete process.env.SCORE_SDE_RENDER_IDLE;
      else process.env.SCORE_SDE_RENDER_IDLE = old;
    }
  });
});
