/**
 * Showing results in a notebook. Display is kept apart from the figure builders (figure.ts), which stay pure.
 *
 * `show(fig)` sends ONE Jupyter display_data bundle holding several representations of the same figure; every front
 * end picks the richest one it can render:
 *   application/vnd.plotly.v1+json  JupyterLab (and VS Code) with the plotly renderer: a live, zoomable figure;
 *   image/png                       classic Notebook and GitHub, which have no plotly renderer;
 *   text/plain                      a one-line summary for terminals.
 * tslab's own `display.raw` sends one mime type per output, so this writes the bundle through tslab's display
 * writer directly (tslab is pinned to 1.0.22 for that reason). plotly.js itself is never inlined (13 MB notebooks).
 *
 * Where the PNG comes from:
 *   - interactive kernels render it in-process with a Chromium opened once per kernel (render.ts);
 *   - the headless runner sets SCORE_SDE_RENDER=defer: figures go out as plotly JSON with their name in the
 *     output metadata, and the runner renders all of a run's figures in one browser afterwards (faster, and it
 *     also writes figures/<notebook>/<name>.{png,svg,json});
 *   - SCORE_SDE_RENDER=none (or no Chromium) skips the PNG, with one message saying why.
 * Outside a kernel (exported tests, scripts) nothing is displayed and `show` just returns the bundle.
 */
import { inKernel } from "./notebook";
import type { Figure } from "./figure";
import { RendererUnavailable, sharedRenderer } from "./render";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A Jupyter mime bundle and its metadata, as sent in a display_data message. */
export interface DisplayBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface ShowOptions {
  /** A stable name: the runner writes figures/<notebook>/<name>.png/.svg/.json for named figures. */
  name?: string;
  /** Override the PNG size (CSS pixels; default from the figure's layout). */
  width?: number;
  height?: number;
}

type WriteDisplayData = (content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** tslab's writer for the cell being executed (set by its Jupyter handler before each execution). */
function kernelWriter(): WriteDisplayData | undefined {
  if (!inKernel()) return undefined;
  try {
    // The kernel's own module instance: tslab resolves from the project's node_modules (see install-kernel.js).
    const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

/** Sends a bundle to the notebook (no-op outside a kernel). Returns whether it was displayed. */
export function displayBundle(bundle: DisplayBundle): boolean {
  const write = kernelWriter();
  if (!write) return false;
  write({ data: bundle.data, metadata: bundle.metadata, transient: {} }, false);
  return true;
}

/**
 * Sends a bundle that later calls replace in place: the first call (`update` false) displays it under `displayId`,
 * later calls with `update` true send Jupyter `update_display_data` for the same id (progress lines). Returns
 * whether it was sent (false outside a kernel or outside a running cell).
 */
export function displayUpdate(bundle: DisplayBundle, displayId: string, update: boolean): boolean {
  const write = kernelWriter();
  if (!write) return false;
  write({ data: bundle.data, metadata: bundle.metadata, transient: { display_id: displayId } }, update);
  return true;
}

/** A progress line as a bar plus text (HTML) and the text alone; `fraction` in [0, 1]. */
export function progressBundle(line: string, fraction: number, final: boolean): DisplayBundle {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const esc = line.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const bar = final ? "" : `<progress value="${f.toFixed(4)}" max="1" style="width: 10em; vertical-align: middle; margin-right: 0.8em"></progress>`;
  return { data: { "text/html": `<div style="font-family: monospace; white-space: pre">${bar}${esc}</div>`, "text/plain": line }, metadata: {} };
}

type RenderMode = "inline" | "defer" | "none";
function renderMode(): RenderMode {
  const v = (process.env.SCORE_SDE_RENDER ?? "inline").trim().toLowerCase();
  return v === "defer" || v === "none" ? v : "inline";
}

let warnedNoRenderer = false;

/** The bundle `show` sends, without the PNG (pure: for tests and for writing notebooks by other means). */
export function figureBundle(fig: Figure, opts: ShowOptions = {}): DisplayBundle {
  const nTraces = fig.data.length;
  const title = titleOf(fig);
  const bundle: DisplayBundle = {
    data: {
      [PLOTLY_MIME]: fig,
      "text/plain": `<plotly figure${opts.name ? ` "${opts.name}"` : ""}${title ? `: ${title}` : ""} (${nTraces} traces)>`,
    },
    metadata: opts.name ? { "score-sde-ts": { figure: opts.name } } : {},
  };
  // The PNG is rendered at device scale 2 (sharp on high-density screens and when zoomed); Jupyter front ends show
  // it at this CSS size (the image/png metadata), not at twice the size.
  bundle.metadata["image/png"] = { width: opts.width ?? sizeOf(fig.layout.width, 700), height: opts.height ?? sizeOf(fig.layout.height, 450) };
  if (opts.width || opts.height) {
    bundle.metadata["score-sde-ts"] = { ...(bundle.metadata["score-sde-ts"] as object), width: opts.width, height: opts.height };
  }
  return bundle;
}

/**
 * Shows a plotly figure (see the module comment for what each front end gets). Await it: the PNG is rendered
 * before the bundle is sent, so the cell's output is complete when the cell finishes. Returns nothing, so that a
 * cell ending in `await show(fig)` prints nothing else (tslab echoes a cell's last value).
 */
export async function show(fig: Figure, opts: ShowOptions = {}): Promise<void> {
  const bundle = figureBundle(fig, opts);
  if (!inKernel()) return;
  const mode = renderMode();
  if (mode === "inline") {
    try {
      const r = await sharedRenderer();
      const png = await r.render(fig, "png", { width: opts.width, height: opts.height, scale: 2 });
      bundle.data["image/png"] = png.toString("base64");
    } catch (e) {
      if (!warnedNoRenderer) {
        warnedNoRenderer = true;
        const msg = e instanceof RendererUnavailable ? e.message : `PNG rendering failed: ${(e as Error).message}`;
        process.stderr.write(`[score-sde-ts] ${msg}\n`);
      }
    }
  }
  displayBundle(bundle);
}

function sizeOf(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
}

function titleOf(fig: Figure): string {
  const t = fig.layout.title;
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") return (t as { text: string }).text;
  return "";
}

/** Anything table-like: a danfojs DataFrame (structurally: columns + values [+ index]) or an array of records. */
export interface TableLike {
  columns: string[];
  values: unknown[][] | unknown[];
  index?: (string | number)[];
}

/** HTML and plain-text renderings of a table; `digits` significant digits for numbers. */
export function tableBundle(table: TableLike | Record<string, unknown>[], digits = 4): DisplayBundle {
  const { columns, rows, index } = normalizeTable(table);
  const fmt = (v: unknown): string =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(digits)).toString()) : String(v ?? "");
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const head = `<tr><th></th>${columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = rows
    .map((r, i) => `<tr><th>${esc(String(index[i]))}</th>${r.map((v) => `<td>${esc(fmt(v))}</td>`).join("")}</tr>`)
    .join("\n");
  const html = `<table class="dataframe">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
  // Plain text: aligned columns (what a terminal, a diff and a failing test show).
  const cells = [["", ...columns], ...rows.map((r, i) => [String(index[i]), ...r.map(fmt)])];
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => (r[j] ?? "").length)));
  const text = cells.map((r) => r.map((c, j) => c.padStart(widths[j])).join("  ")).join("\n");
  return { data: { "text/html": html, "text/plain": text }, metadata: {} };
}

/** Shows a table (a danfojs DataFrame or an array of records) as an HTML table. */
export function showTable(table: TableLike | Record<string, unknown>[], digits = 4): void {
  displayBundle(tableBundle(table, digits));
}

/** Shows Markdown (e.g. a sentence with the numbers just computed). */
export function showMarkdown(md: string): void {
  displayBundle({ data: { "text/markdown": md, "text/plain": md }, metadata: {} });
}

function normalizeTable(table: TableLike | Record<string, unknown>[]): { columns: string[]; rows: unknown[][]; index: (string | number)[] } {
  if (Array.isArray(table)) {
    const columns: string[] = [];
    for (const r of table) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    return { columns, rows: table.map((r) => columns.map((c) => r[c])), index: table.map((_, i) => i) };
  }
  const vals = table.values;
  // A one-column danfo frame may hand back a flat array.
  const rows = vals.map((r) => (Array.isArray(r) ? r : [r]));
  return { columns: table.columns.slice(), rows, index: table.index ? table.index.slice() : rows.map((_, i) => i) };
}
