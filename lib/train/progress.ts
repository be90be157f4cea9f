/** Text of the terminal progress line (pure functions: notebooks can use them in their own displays). */

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
