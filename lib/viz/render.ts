/**
 * Static figure rendering: plotly JSON → PNG / SVG through a headless Chromium driven by playwright-core, calling
 * `Plotly.toImage` in the page. Most of the cost (~5–8 s on 2 cores) is launching Chromium and parsing plotly.js
 * (10 MB), so a `FigureRenderer` is opened once and renders every figure of a run in the same page.
 *
 * Chromium comes from Debian (`apt-get install chromium`, see tools/setup-debian.sh) at /usr/bin/chromium, or from
 * SCORE_SDE_CHROMIUM. Without it `FigureRenderer.open` throws `RendererUnavailable` with a message saying how to
 * install it; callers (the notebook display, the headless runner) catch that and keep the plotly JSON only.
 *
 * playwright-core is loaded lazily with a minimal local type, so that importing lib/viz (also from the tslab kernel,
 * which type-checks every imported file) costs nothing until the first render, and never needs DOM typings.
 */
import * as fs from "fs";
import * as path from "path";
import type { Figure } from "./figure";
import { writeFileAtomic } from "../io/atomic";
import { optimizePng } from "../io/png";

export type ImageFormat = "png" | "svg";

export interface RenderSize {
  /** CSS pixels; default: the figure's layout.width / height, else 700 × 450. */
  width?: number;
  height?: number;
  /** Device pixel ratio of PNGs (default 2: sharp on GitHub and in papers). */
  scale?: number;
}

export class RendererUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RendererUnavailable";
  }
}

/** The flags DESIGN.md records as working on the project's machines (root, no GPU, no network). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Where Chromium is, or undefined. SCORE_SDE_CHROMIUM wins; then the Debian and common locations. */
export function chromiumPath(): string | undefined {
  const env = process.env.SCORE_SDE_CHROMIUM;
  if (env) return fs.existsSync(env) ? env : undefined;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"]) {
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

// The slice of playwright-core's API used here.
interface PwPage {
  setContent(html: string): Promise<void>;
  addScriptTag(opts: { path: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}
interface PwBrowser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}
interface PwChromium {
  launch(opts: { executablePath: string; args: string[]; headless: boolean; timeout?: number }): Promise<PwBrowser>;
}

/** Locates plotly.js-dist from this file (works from lib/, build/lib/ and the notebooks/lib symlink). */
function plotlyScript(): string {
  return require.resolve("plotly.js-dist/plotly.js");
}

export class FigureRenderer {
  private busy = 0;
  private lastUse = Date.now();

  private constructor(
    private readonly browser: PwBrowser,
    private readonly page: PwPage,
  ) {}

  /** Launches Chromium and loads plotly.js once. Throws RendererUnavailable when Chromium or playwright is missing. */
  static async open(): Promise<FigureRenderer> {
    const exe = chromiumPath();
    if (!exe) {
      throw new RendererUnavailable(
        "no Chromium found (looked at SCORE_SDE_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, google-chrome): " +
          "static PNG/SVG figures are skipped and figures stay plotly JSON only. Install it with " +
          "`sudo bash tools/setup-debian.sh` (Debian: apt-get install --no-install-recommends chromium) or point " +
          "SCORE_SDE_CHROMIUM at a Chrome/Chromium binary.",
      );
    }
    let chromium: PwChromium;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      chromium = (require("playwright-core") as { chromium: PwChromium }).chromium;
    } catch (e) {
      throw new RendererUnavailable(`playwright-core cannot be loaded (${(e as Error).message}); run npm ci`);
    }
    const browser = await chromium.launch({ executablePath: exe, args: [...CHROMIUM_FLAGS], headless: true, timeout: 60_000 });
    try {
      const page = await browser.newPage();
      await page.setContent("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>");
      await page.addScriptTag({ path: plotlyScript() });
      return new FigureRenderer(browser, page);
    } catch (e) {
      await browser.close().catch(() => undefined);
      throw e;
    }
  }

  /** PNG bytes, or the SVG text, of one figure. */
  async render(fig: Figure, format: "png", size?: RenderSize): Promise<Buffer>;
  async render(fig: Figure, format: "svg", size?: RenderSize): Promise<string>;
  async render(fig: Figure, format: ImageFormat, size: RenderSize = {}): Promise<Buffer | string> {
    this.busy++;
    try {
      return await this.renderNow(fig, format, size);
    } finally {
      this.busy--;
      this.lastUse = Date.now();
    }
  }

  /** Milliseconds since the last render ended (0 while one runs). */
  idleMs(): number {
    return this.busy > 0 ? 0 : Date.now() - this.lastUse;
  }

  private async renderNow(fig: Figure, format: ImageFormat, size: RenderSize): Promise<Buffer | string> {
    const width = size.width ?? numberOr(fig.layout.width, 700);
    const height = size.height ?? numberOr(fig.layout.height, 450);
    const scale = format === "png" ? size.scale ?? 2 : 1;
    const url = await this.page.evaluate(
      async (a: { fig: Figure; format: ImageFormat; width: number; height: number; scale: number }) => {
        // Runs in the page, where plotly.js defined a global `Plotly`.
        const P = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
        return P.toImage(a.fig, { format: a.format, width: a.width, height: a.height, scale: a.scale });
      },
      { fig, format, width, height, scale },
    );
    return decodeDataUrl(url, format);
  }

  /** Writes `<base>.png` and/or `<base>.svg` (and `<base>.json`, the figure itself) and returns the paths. */
  async writeFiles(fig: Figure, base: string, formats: readonly ImageFormat[] = ["png", "svg"], size?: RenderSize): Promise<string[]> {
    fs.mkdirSync(path.dirname(base), { recursive: true });
    const out: string[] = [];
    writeFileAtomic(`${base}.json`, JSON.stringify(fig));
    out.push(`${base}.json`);
    for (const f of formats) {
      const file = `${base}.${f}`;
      writeFileAtomic(file, f === "png" ? await this.render(fig, "png", size) : await this.render(fig, "svg", size));
      out.push(file);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

function numberOr(v: unknown, d: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : d;
}

/** plotly returns `data:image/png;base64,…` and `data:image/svg+xml,<url-encoded svg>`. */
function decodeDataUrl(url: string, format: ImageFormat): Buffer | string {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0) throw new Error(`Plotly.toImage returned an unexpected value: ${url.slice(0, 60)}`);
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  // Chromium's PNG encoder favours speed: re-filtered and re-deflated, the same pixels take 20-30 % fewer bytes.
  if (format === "png") return optimizePng(Buffer.from(body, "base64"));
  return head.endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
}

let shared: Promise<FigureRenderer> | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let exitHook = false;

/** Seconds a shared renderer may sit unused before its Chromium is closed (SCORE_SDE_RENDER_IDLE, default 60). */
export function rendererIdleSeconds(): number {
  const v = Number(process.env.SCORE_SDE_RENDER_IDLE ?? 60);
  return Number.isFinite(v) && v > 0 ? v : 60;
}

/**
 * One renderer per process, opened on first use: the figures of one cell or one run share a Chromium, and only the
 * first pays for its start-up. It is closed after `rendererIdleSeconds()` without a call (a notebook kernel lives
 * for hours; a headless Chromium holds ~10 processes and ~1 GB), and opened again by the next figure. The idle timer
 * never keeps a process alive.
 */
export function sharedRenderer(): Promise<FigureRenderer> {
  if (!shared) {
    const opening = FigureRenderer.open();
    shared = opening;
    opening.catch(() => {
      if (shared === opening) shared = undefined;
    });
    if (!exitHook) {
      exitHook = true;
      process.once("beforeExit", () => void closeSharedRenderer());
    }
  }
  const current = shared;
  if (!idleTimer) armIdleClose(current, rendererIdleSeconds() * 1000);
  return current;
}

/** Closes `current` once it has been idle (no render running or ended) for the idle time; re-arms otherwise. */
function armIdleClose(current: Promise<FigureRenderer>, waitMs: number): void {
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    void current.then(
      (r) => {
        if (shared !== current) return;
        const left = rendererIdleSeconds() * 1000 - r.idleMs();
        if (left > 0) return armIdleClose(current, left);
        shared = undefined;
        return r.close().catch(() => undefined);
      },
      () => undefined,
    );
  }, waitMs);
  idleTimer.unref();
}

/** Closes the shared renderer now (if open); the next `sharedRenderer()` opens a new one. */
export async function closeSharedRenderer(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const current = shared;
  shared = undefined;
  if (current) await current.then((r) => r.close()).catch(() => undefined);
}
