/**
 * Plotly figure builders. They return plain JSON (the plotly.js figure schema: `{ data, layout }`), never display
 * anything and import nothing browser- or Jupyter-specific, so tests and scripts can build and inspect figures, and
 * `show` (display.ts) or the renderer (render.ts) decide where they go.
 *
 * The types are deliberately loose (plotly's schema is huge): a trace is a record with a `type`; layouts are records.
 */

/** One plotly trace (`scatter`, `heatmap`, `contour`, …) with any of plotly's attributes. */
export interface Trace {
  type: string;
  [attribute: string]: unknown;
}

export type Layout = Record<string, unknown>;

export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** A panel of a subplot grid: its traces (axes are assigned by `grid`) and optional axis titles/ranges. */
export interface Panel {
  title?: string;
  traces: Trace[];
  xaxis?: Record<string, unknown>;
  yaxis?: Record<string, unknown>;
}

/**
 * Widest figure (CSS pixels) that fits the output column of a classic Jupyter Notebook at its default 1140 px
 * container (output area ≈ 980 px less padding); JupyterLab's and GitHub's columns are wider. A wider figure is
 * shrunk by the browser, tick labels with it (a 1500 px grid ended up at 62 %: 7 px labels), so `grid` narrows its
 * panels to fit instead.
 */
export const NOTEBOOK_WIDTH = 940;

export interface GridOptions {
  title?: string;
  /** Pixel size of one panel (default 300 × 280); panels are narrowed so the figure fits NOTEBOOK_WIDTH. */
  panelWidth?: number;
  panelHeight?: number;
  /**
   * Gap between panels as a fraction of the figure (default 0.06 horizontally — 0.02 with `outerTickLabelsOnly` —
   * and 0.1 vertically). The vertical gap is a minimum: it grows to hold the x tick labels of the row above and the
   * (wrapped) panel titles of the row below, so they never touch.
   */
  hgap?: number;
  vgap?: number;
  showlegend?: boolean;
  /** Same x (and y) axis range for every panel: axes are matched to the first panel's. */
  shareAxes?: boolean;
  /**
   * Tick labels only on the outer axes: x labels under the bottom row, y labels left of the first column (a facet
   * grid of panels with the same ranges). Leaves room for narrow panels: a 7-column grid at the notebook's width has
   * ~110 px panels, too narrow for every panel's own labels beside its neighbour's title.
   */
  outerTickLabelsOnly?: boolean;
  /** Figure margins in pixels (default l 50, r 20, t 40 or 80 with a title, b 40); e.g. `{ b: 110 }` for slanted labels. */
  margin?: { l?: number; r?: number; t?: number; b?: number };
}

/** Font size of panel titles (px) and the height of one of their lines. */
const PANEL_TITLE_SIZE = 13;
const PANEL_TITLE_LINE = 17;
/**
 * Width of an average character of plotly's default font relative to its size: measured ≈ 0.43 for mixed
 * lower-case titles in the rendered PNGs (Open Sans / DejaVu Sans); 0.5 leaves room for capitals and digits.
 */
const CHAR_WIDTH = 0.5;
/** Room under a panel for its x tick labels (12 px font) and, when it has one, its axis title. */
const X_TICKS_HEIGHT = 24;
const X_AXIS_TITLE_HEIGHT = 20;

/**
 * Breaks a panel title at spaces into as few lines as fit `maxPx` pixels (estimated at CHAR_WIDTH · size per
 * character), of balanced lengths ("VE learned: PC1000 / reverse diffusion", not a long line and an orphan), joined
 * with `<br>` as plotly annotations expect; explicit `<br>`s are kept. A single word longer than a line stays whole.
 */
export function wrapTitle(text: string, maxPx: number, size = PANEL_TITLE_SIZE): string {
  const maxChars = Math.max(4, Math.floor(maxPx / (CHAR_WIDTH * size)));
  const greedy = (words: string[], width: number): string[] => {
    const out: string[] = [];
    let cur = "";
    for (const word of words) {
      if (cur !== "" && cur.length + 1 + word.length > width) {
        out.push(cur);
        cur = word;
      } else cur = cur === "" ? word : `${cur} ${word}`;
    }
    out.push(cur);
    return out;
  };
  return text
    .split(/<br\s*\/?>/i)
    .map((part) => {
      const words = part.split(" ");
      const lines = greedy(words, maxChars).length;
      // The narrowest width (from an even split up to the limit) that needs no more lines than the limit does.
      for (let width = Math.ceil(part.length / lines); width < maxChars; width++) {
        const balanced = greedy(words, width);
        if (balanced.length <= lines) return balanced.join("<br>");
      }
      return greedy(words, maxChars).join("<br>");
    })
    .join("<br>");
}

/**
 * Lays panels out on a rows × columns grid (`panels[row][col]`, row 0 on top) with one x/y axis pair per panel, as
 * plotly's `make_subplots` does: trace i of panel k gets `xaxis: "x{k}"`, `yaxis: "y{k}"`, and the axes get domains.
 * Panel titles wider than their panel are wrapped onto several lines, and the space between rows (and above the top
 * row) grows by what the titles and the tick labels above them need, so that titles never run into each other or
 * into tick labels at the size the figure is shown.
 */
export function grid(panels: Panel[][], opts: GridOptions = {}): Figure {
  const rows = panels.length;
  const cols = Math.max(...panels.map((r) => r.length));
  if (rows === 0 || cols === 0) throw new RangeError("grid: panels must be a non-empty rows × columns array");
  const outer = opts.outerTickLabelsOnly ?? false;
  const hgap = opts.hgap ?? (outer ? 0.02 : 0.06);
  const vgap = opts.vgap ?? 0.1;
  const w = (1 - hgap * (cols - 1)) / cols;
  const data: Trace[] = [];
  const asked = opts.panelWidth ?? 300;
  const panelWidth = Math.min(asked, Math.floor((NOTEBOOK_WIDTH - 80) / cols));
  // A narrowed panel keeps its aspect ratio (square panels of point clouds stay square).
  const panelHeight = Math.round(((opts.panelHeight ?? 280) * panelWidth) / asked);
  const margin = { l: 50, r: 20, t: opts.title ? 80 : 40, b: 40, ...opts.margin };
  const width = panelWidth * cols + 80;
  const baseHeight = panelHeight * rows + (opts.title ? 90 : 60);
  // Vertical layout in pixels: the plot area of the figure as it always was, split into equal panels and gaps of
  // vgap; a gap then grows when the row above's tick labels plus the row below's title lines need more.
  const plotH0 = baseHeight - margin.t - margin.b;
  const gap0 = vgap * plotH0;
  const rowH = (plotH0 - gap0 * (rows - 1)) / rows;
  const panelPx = w * (width - margin.l - margin.r);
  const titles = panels.map((r) => r.map((p) => (p.title ? wrapTitle(p.title, panelPx) : undefined)));
  const titleLines = titles.map((r) => Math.max(0, ...r.map((t) => (t ? t.split("<br>").length : 0))));
  const tickRoom = (r: number): number => {
    const hasTicks = !outer || r === rows - 1;
    const axisTitle = panels[r].some((p) => Boolean((p.xaxis?.title as { text?: string } | undefined)?.text));
    return (hasTicks ? X_TICKS_HEIGHT : 4) + (axisTitle ? X_AXIS_TITLE_HEIGHT : 0);
  };
  const gaps = Array.from({ length: rows - 1 }, (_, r) => Math.max(gap0, tickRoom(r) + titleLines[r + 1] * PANEL_TITLE_LINE + 4));
  margin.t += Math.max(0, titleLines[0] - 1) * PANEL_TITLE_LINE;
  const plotH = rowH * rows + gaps.reduce((a, b) => a + b, 0);
  const layout: Layout = {
    width,
    height: Math.round(plotH + margin.t + margin.b),
    margin,
    showlegend: opts.showlegend ?? false,
    annotations: [] as unknown[],
  };
  if (opts.title) layout.title = { text: opts.title };
  let k = 0;
  let top = 0; // pixels from the top of the plot area to the top of row r
  for (let r = 0; r < rows; r++) {
    const y1 = 1 - top / plotH;
    const y0 = 1 - (top + rowH) / plotH;
    for (let c = 0; c < panels[r].length; c++) {
      k++;
      const p = panels[r][c];
      const ax = k === 1 ? "" : String(k);
      for (const t of p.traces) data.push({ ...t, xaxis: `x${ax}`, yaxis: `y${ax}` });
      const x0 = c * (w + hgap);
      const shared = opts.shareAxes && k > 1 ? { matches: "x" } : {};
      const sharedY = opts.shareAxes && k > 1 ? { matches: "y" } : {};
      const xTicks = outer && r < rows - 1 ? { showticklabels: false } : {};
      const yTicks = outer && c > 0 ? { showticklabels: false } : {};
      // Domains rounded and clamped to [0, 1]: float sums such as 0.4 − 0.4 land a hair below 0, which plotly rejects.
      const dom = (a: number, b: number): number[] => [a, b].map((v) => Math.min(1, Math.max(0, Math.round(v * 1e9) / 1e9)));
      layout[`xaxis${ax}`] = { domain: dom(x0, x0 + w), anchor: `y${ax}`, ...shared, ...xTicks, ...p.xaxis };
      layout[`yaxis${ax}`] = { domain: dom(y0, y1), anchor: `x${ax}`, ...sharedY, ...yTicks, ...p.yaxis };
      const title = titles[r][c];
      if (title) {
        (layout.annotations as unknown[]).push({
          text: title,
          x: x0 + w / 2,
          y: y1,
          xref: "paper",
          yref: "paper",
          xanchor: "center",
          yanchor: "bottom",
          showarrow: false,
          font: { size: PANEL_TITLE_SIZE },
        });
      }
    }
    top += rowH + (gaps[r] ?? 0);
  }
  return { data, layout };
}

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  dash?: "solid" | "dash" | "dot" | "dashdot";
  color?: string;
  width?: number;
  /** Also a marker at every point (plotly mode "lines+markers"). */
  markers?: boolean;
  /** false: no legend entry (e.g. the same series repeated in a second panel). */
  showlegend?: boolean;
}

/** Line traces, one per series (plain arrays, so the JSON stays small and readable). */
export function lines(series: LineSeries[]): Trace[] {
  return series.map((s) => ({
    type: "scatter",
    mode: s.markers ? "lines+markers" : "lines",
    ...(s.showlegend === false ? { showlegend: false } : {}),
    name: s.name,
    x: Array.from(s.x),
    y: Array.from(s.y),
    line: { dash: s.dash ?? "solid", ...(s.color ? { color: s.color } : {}), width: s.width ?? 2 },
  }));
}

/** A circle of radius `r` around the origin (outline only, no legend entry): e.g. "2 true stds" around a mode. */
export function circle(r: number, opts: { color?: string; width?: number; points?: number } = {}): Trace {
  const n = opts.points ?? 64;
  return {
    type: "scatter",
    mode: "lines",
    x: Array.from({ length: n + 1 }, (_, k) => r * Math.cos((2 * Math.PI * k) / n)),
    y: Array.from({ length: n + 1 }, (_, k) => r * Math.sin((2 * Math.PI * k) / n)),
    line: { color: opts.color ?? "#999", width: opts.width ?? 1 },
    showlegend: false,
  };
}

/**
 * A noise-floor band over categorical (or numeric) x: two dotted lines at mean ± k·std (k = 2), the lower one
 * clamped at 0 (the metrics it is drawn for are non-negative).
 */
export function noiseBand(x: readonly (string | number)[], mean: number, std: number, opts: { k?: number; color?: string } = {}): Trace[] {
  const k = opts.k ?? 2;
  return [mean + k * std, Math.max(0, mean - k * std)].map((y) => ({
    type: "scatter",
    mode: "lines",
    x: [...x],
    y: x.map(() => y),
    line: { color: opts.color ?? "#bbb", dash: "dot" },
    showlegend: false,
  }));
}

/** Markers with error bars (mean ± std per x); `color` one colour or one per point. */
export function errorMarkers(
  x: readonly (string | number)[],
  mean: readonly number[],
  std: readonly number[],
  opts: { color?: string | readonly string[]; name?: string } = {},
): Trace {
  if (mean.length !== x.length || std.length !== x.length) {
    throw new RangeError(`errorMarkers: x, mean and std must have one value per point, got ${x.length}, ${mean.length}, ${std.length}`);
  }
  return {
    type: "scatter",
    mode: "markers",
    ...(opts.name ? { name: opts.name } : {}),
    x: [...x],
    y: [...mean],
    error_y: { type: "data", array: [...std] },
    ...(opts.color ? { marker: { color: typeof opts.color === "string" ? opts.color : [...opts.color] } } : {}),
  };
}

/** A line plot on one set of axes. */
export function lineFigure(series: LineSeries[], opts: { title?: string; xTitle?: string; yTitle?: string; logY?: boolean; width?: number; height?: number } = {}): Figure {
  return {
    data: lines(series),
    layout: {
      width: opts.width ?? 640,
      height: opts.height ?? 400,
      ...(opts.title ? { title: { text: opts.title } } : {}),
      xaxis: { title: { text: opts.xTitle ?? "" } },
      yaxis: { title: { text: opts.yTitle ?? "" }, ...(opts.logY ? { type: "log" } : {}) },
    },
  };
}

/** Points of a 2-D point cloud given as a flat [n, 2] row-major array. */
export function scatter2d(
  xy: ArrayLike<number>,
  opts: { name?: string; color?: string; size?: number; opacity?: number } = {},
): Trace {
  const n = Math.floor(xy.length / 2);
  const x = new Array<number>(n);
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    x[i] = round(xy[2 * i]);
    y[i] = round(xy[2 * i + 1]);
  }
  return {
    type: "scatter",
    mode: "markers",
    name: opts.name ?? "samples",
    x,
    y,
    marker: { size: opts.size ?? 3, opacity: opts.opacity ?? 0.6, ...(opts.color ? { color: opts.color } : {}) },
  };
}

/** A scalar field on a regular grid as a filled contour / heatmap: z[j][i] is the value at (xs[i], ys[j]). */
export function field(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  z: ArrayLike<number>,
  opts: { kind?: "heatmap" | "contour"; colorscale?: string; reversescale?: boolean; showscale?: boolean; name?: string; zmin?: number; zmax?: number } = {},
): Trace {
  const nx = xs.length;
  const ny = ys.length;
  if (z.length !== nx * ny) throw new RangeError(`field: z has ${z.length} values, expected ${nx} × ${ny} = ${nx * ny}`);
  const rows: number[][] = [];
  for (let j = 0; j < ny; j++) {
    const row = new Array<number>(nx);
    // 3 significant digits: a colour scale cannot show more, and a density grid is most of a figure's JSON.
    for (let i = 0; i < nx; i++) row[i] = round(z[j * nx + i], 3);
    rows.push(row);
  }
  return {
    type: opts.kind ?? "heatmap",
    name: opts.name ?? "",
    x: Array.from(xs, (v) => round(v)),
    y: Array.from(ys, (v) => round(v)),
    z: rows,
    // Default: white where the field is low and blue where high (plotly's "Blues" runs the other way).
    colorscale: opts.colorscale ?? "Blues",
    reversescale: opts.reversescale ?? opts.colorscale === undefined,
    showscale: opts.showscale ?? false,
    ...(opts.zmin !== undefined ? { zmin: opts.zmin } : {}),
    ...(opts.zmax !== undefined ? { zmax: opts.zmax } : {}),
    // Heatmaps are smoothed: a 60 × 60 grid then reads like a continuous density and keeps the JSON small.
    ...(opts.kind === "contour" ? { contours: { coloring: "heatmap" }, line: { width: 0 } } : { zsmooth: "best" }),
  };
}

/**
 * A vector field as arrows (plotly has no quiver trace): one `scatter` trace whose line segments are separated by
 * nulls. Arrows are scaled so the longest has length `maxLength` (in data units); `normalize` draws every arrow at
 * that length (direction only), which reads better when magnitudes span orders of magnitude, as scores near t = 0 do.
 */
export function quiver(
  points: ArrayLike<number>,
  vectors: ArrayLike<number>,
  opts: { maxLength?: number; normalize?: boolean; color?: string; name?: string; headSize?: number; width?: number } = {},
): Trace {
  const n = Math.floor(points.length / 2);
  if (vectors.length !== points.length) throw new RangeError("quiver: points and vectors must both be [n, 2]");
  let maxNorm = 0;
  for (let i = 0; i < n; i++) maxNorm = Math.max(maxNorm, Math.hypot(vectors[2 * i], vectors[2 * i + 1]));
  const L = opts.maxLength ?? 0.3;
  const head = opts.headSize ?? 0.3;
  const x: (number | null)[] = [];
  const y: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const px = points[2 * i];
    const py = points[2 * i + 1];
    const norm = Math.hypot(vectors[2 * i], vectors[2 * i + 1]);
    if (!(norm > 0) || !(maxNorm > 0)) continue;
    const len = opts.normalize ? L : (L * norm) / maxNorm;
    const ux = vectors[2 * i] / norm;
    const uy = vectors[2 * i + 1] / norm;
    const tx = px + ux * len;
    const ty = py + uy * len;
    // Shaft, then the two barbs of the head (rotated ±25° back from the tip).
    const hb = len * head;
    const c = Math.cos(0.44);
    const s = Math.sin(0.44);
    const r = (v: number): number => round(v, 4);
    x.push(r(px), r(tx), null, r(tx - hb * (ux * c - uy * s)), r(tx), r(tx - hb * (ux * c + uy * s)), null);
    y.push(r(py), r(ty), null, r(ty - hb * (uy * c + ux * s)), r(ty), r(ty - hb * (uy * c - ux * s)), null);
  }
  return {
    type: "scatter",
    mode: "lines",
    name: opts.name ?? "score",
    x,
    y,
    hoverinfo: "skip",
    line: { color: opts.color ?? "#333", width: opts.width ?? 1 },
  };
}

/**
 * Paths of particles over time: `paths[k]` is a flat [n, 2] array of all particles at step k. Draws the first
 * `maxPaths` particles as polylines (null-separated in one trace) and, optionally, their end points.
 */
export function trajectories(
  paths: ArrayLike<number>[],
  opts: { maxPaths?: number; color?: string; name?: string; width?: number; opacity?: number; endPoints?: boolean; showlegend?: boolean } = {},
): Trace[] {
  if (paths.length === 0) return [];
  const n = Math.floor(paths[0].length / 2);
  const m = Math.min(n, opts.maxPaths ?? 50);
  const x: (number | null)[] = [];
  const y: (number | null)[] = [];
  for (let p = 0; p < m; p++) {
    for (const step of paths) {
      x.push(round(step[2 * p]));
      y.push(round(step[2 * p + 1]));
    }
    x.push(null);
    y.push(null);
  }
  const out: Trace[] = [
    {
      type: "scatter",
      mode: "lines",
      name: opts.name ?? "trajectories",
      x,
      y,
      hoverinfo: "skip",
      showlegend: opts.showlegend ?? false,
      opacity: opts.opacity ?? 0.7,
      line: { color: opts.color ?? "#d62728", width: opts.width ?? 1 },
    },
  ];
  if (opts.endPoints ?? true) {
    const last = paths[paths.length - 1];
    out.push({
      ...scatter2d(Array.from(last).slice(0, 2 * m), { name: `${opts.name ?? "trajectories"} (end)`, color: opts.color ?? "#d62728", size: 4, opacity: 0.9 }),
      showlegend: opts.showlegend ?? false,
    });
  }
  return out;
}

/** Regular 2-D grid points in row-major order (y outer, x inner) as a flat [nx·ny, 2] array, with the axes. */
export function meshgrid(xmin: number, xmax: number, ymin: number, ymax: number, nx: number, ny = nx): { xs: number[]; ys: number[]; points: Float32Array } {
  const xs = Array.from({ length: nx }, (_, i) => xmin + ((xmax - xmin) * i) / Math.max(1, nx - 1));
  const ys = Array.from({ length: ny }, (_, j) => ymin + ((ymax - ymin) * j) / Math.max(1, ny - 1));
  const points = new Float32Array(nx * ny * 2);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      points[2 * (j * nx + i)] = xs[i];
      points[2 * (j * nx + i) + 1] = ys[j];
    }
  }
  return { xs, ys, points };
}

/** Rounds to `digits` significant digits (default 5): figures are committed as JSON and shown on GitHub. */
function round(v: number, digits = 5): number {
  if (!Number.isFinite(v) || v === 0) return Number.isFinite(v) ? v : NaN;
  return Number(v.toPrecision(digits));
}
