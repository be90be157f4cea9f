/**
 * Progress of long loops (training, PC sampling, likelihood solves) as ONE line that updates in place:
 *   - in a notebook (tslab kernel): one output that is replaced on every update (Jupyter `update_display_data`
 *     with a display_id, as tslab 1.0.22's display writer sends it) — a bar and the line, not a stream of stderr
 *     lines (which read as errors);
 *   - in a terminal (stderr is a TTY): the line redrawn with `\r`, ended by a newline when done;
 *   - elsewhere (pipes, CI logs): a plain line at most every `plainEverySeconds`, and the last one.
 * Updates are throttled (the notebook's at most every 0.25 s), so calling `update` on every step costs nothing.
 */
import { displayUpdate, progressBundle } from "../viz/display";
import { inKernel } from "../viz/notebook";

/** 75 → "1m15s", 3725 → "1h02m", 4.2 → "4s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "step 1200/4000  loss 0.6123  41.2 steps/s  elapsed 29s  left 1m08s". */
export function progressLine(p: { step: number; totalSteps: number; loss: number; stepsPerSecond: number; elapsedSeconds: number; secondsLeft: number }): string {
  const w = String(p.totalSteps).length;
  return (
    `step ${String(p.step).padStart(w)}/${p.totalSteps}  loss ${p.loss.toPrecision(5)}  ` +
    `${p.stepsPerSecond.toFixed(1)} steps/s  elapsed ${formatDuration(p.elapsedSeconds)}  left ${formatDuration(p.secondsLeft)}`
  );
}

export type ProgressMode = "notebook" | "terminal" | "lines" | "off";

export interface ProgressOptions {
  /** Total amount of work in `unit`s (steps, or 1 for a fraction of an integration interval). */
  total: number;
  /** Shown before the line, e.g. "VP training" or "PC sampling". */
  label?: string;
  /** What one unit is called ("steps" → "step 12/40 … 41.2 steps/s"); "" shows a percentage and no rate. Default "steps". */
  unit?: string;
  /** Units already done when this line starts (a resumed run): rate and time left count from here. Default 0. */
  start?: number;
  /** Default: "notebook" in a tslab kernel, "terminal" when stderr is a TTY, otherwise "lines". */
  mode?: ProgressMode;
  /** "lines" mode: seconds between plain lines (default 10). */
  plainEverySeconds?: number;
}

export interface ProgressState {
  done: number;
  total: number;
  elapsedSeconds: number;
  secondsLeft: number;
  /** units per second since the start */
  rate: number;
}

let nextId = 0;

/**
 * One progress line. `update(done, extra)` after each step (extra: e.g. `{ loss: 0.61 }` or `"NFE 120"`), `finish()`
 * at the end (shows the final state, with the total time).
 */
export class Progress {
  readonly mode: ProgressMode;
  private readonly t0 = Date.now();
  private readonly displayId = `score-sde-progress-${process.pid}-${++nextId}`;
  private shown = false;
  private lastDraw = 0;
  private lastLine = "";
  private finished = false;
  private readonly o: Required<Omit<ProgressOptions, "mode">>;

  constructor(opts: ProgressOptions) {
    if (!(Number.isFinite(opts.total) && opts.total > 0)) {
      throw new RangeError(`Progress: total must be a positive finite number, got ${opts.total}`);
    }
    this.mode = opts.mode ?? (inKernel() ? "notebook" : process.stderr.isTTY ? "terminal" : "lines");
    this.o = { total: opts.total, start: opts.start ?? 0, label: opts.label ?? "", unit: opts.unit ?? "steps", plainEverySeconds: opts.plainEverySeconds ?? 10 };
  }

  /** The state after `done` units (pure arithmetic; what the line shows). */
  state(done: number): ProgressState {
    const elapsedSeconds = (Date.now() - this.t0) / 1000;
    const progressed = done - this.o.start;
    const rate = progressed / Math.max(elapsedSeconds, 1e-9);
    const secondsLeft = progressed > 0 ? ((this.o.total - done) * elapsedSeconds) / progressed : NaN;
    return { done, total: this.o.total, elapsedSeconds, secondsLeft, rate };
  }

  /** The line for `done` units and the extra fields. */
  line(done: number, extra: Record<string, number | string> | string = {}): string {
    const s = this.state(done);
    const { total, unit, label } = this.o;
    const integral = unit !== "" && Number.isInteger(total); // counted units, else a fraction (e.g. of [eps, T])
    const count = integral ? `${String(Math.round(done)).padStart(String(total).length)}/${total}` : `${(100 * done / total).toFixed(0)}%`;
    const extras =
      typeof extra === "string"
        ? extra
        : Object.entries(extra)
            .map(([k, v]) => `${k} ${typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(5)) : v}`)
            .join("  ");
    const parts = [label, `${integral && unit ? unit.replace(/s$/, "") + " " : ""}${count}`, extras];
    if (unit) parts.push(`${s.rate.toFixed(1)} ${unit}/s`);
    parts.push(`elapsed ${formatDuration(s.elapsedSeconds)}`);
    if (done < total) parts.push(`left ${formatDuration(s.secondsLeft)}`);
    return parts.filter((p) => p !== "").join("  ");
  }

  /** Reports `done` units (throttled: cheap to call on every step). */
  update(done: number, extra: Record<string, number | string> | string = {}): void {
    this.draw(done, extra, false);
  }

  /** Shows the final state (call once, after the loop). */
  finish(done: number = this.o.total, extra: Record<string, number | string> | string = {}): void {
    if (this.finished) return;
    this.draw(done, extra, true);
    this.finished = true;
  }

  private draw(done: number, extra: Record<string, number | string> | string, final: boolean): void {
    if (this.mode === "off" || this.finished) return;
    const now = Date.now();
    const every = this.mode === "notebook" ? 250 : this.mode === "terminal" ? 100 : this.o.plainEverySeconds * 1000;
    if (!final && this.lastDraw !== 0 && now - this.lastDraw < every) return;
    if (!final && this.mode === "lines" && this.lastDraw === 0 && now - this.t0 < every) {
      this.lastDraw = this.t0; // the first plain line comes after `plainEverySeconds`, not at step 1
      return;
    }
    this.lastDraw = now;
    const line = this.line(done, extra);
    if (this.mode === "notebook") {
      const sent = displayUpdate(progressBundle(line, done / this.o.total, final), this.displayId, this.shown);
      if (sent) this.shown = true;
      else process.stderr.write(final ? `${line}\n` : ""); // no display writer (not inside a cell)
    } else if (this.mode === "terminal") {
      const pad = " ".repeat(Math.max(0, this.lastLine.length - line.length));
      process.stderr.write(`\r${line}${pad}${final ? "\n" : ""}`);
    } else {
      process.stderr.write(`${line}\n`);
    }
    this.lastLine = line;
  }
}
