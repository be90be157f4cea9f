/**
 * Measures the fast-path helpers of ./fast-ops.ts against what the library does today, on the current backend:
 * per-call minimum over repetitions (robust to a loaded machine). Usage:
 *   npx ts-node --transpile-only tools/bench/fastops.ts
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { readSync, sinCos } from "./fast-ops";

/** Per-call minimum of a and b over `reps` alternated calls (a, b, b, a, …): load hits both alike. */
function abTime(a: () => void, b: () => void, reps = 30): [number, number] {
  for (let i = 0; i < 3; i++) {
    a();
    b();
  }
  const best = [Infinity, Infinity];
  const fs = [a, b];
  for (let i = 0; i < reps; i++) {
    for (const j of i % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      fs[j]();
      best[j] = Math.min(best[j], performance.now() - t0);
    }
  }
  return [best[0], best[1]];
}

async function main(): Promise<void> {
  const info = await initBackend({ quiet: true });
  console.log(`backend ${info.name}, ${info.threads ?? 1} thread(s)`);
  const report = (what: string, a: number, b: number) => console.log(`${what.padEnd(46)} ${a.toFixed(3).padStart(8)} ms → ${b.toFixed(3).padStart(8)} ms  (×${(a / b).toFixed(2)})`);
  {
    const a = tf.randomNormal([512, 512]);
    const [slow, fast] = abTime(() => void tf.tidy(() => a.add(1).dataSync()), () => void readSync(() => a.add(1)), 10);
    report("tidy(() => t.dataSync()) → readSync, 262k values", slow, fast);
    a.dispose();
  }
  for (const rows of [512, 10000]) {
    const x = tf.randomNormal([rows, 16]).mul(300);
    const [stock, fast] = abTime(
      () => tf.tidy(() => { tf.sin(x).dataSync(); tf.cos(x).dataSync(); }),
      () => tf.tidy(() => { const [s, c] = sinCos(x, 2000); s.dataSync(); c.dataSync(); }),
    );
    report(`sin+cos [${rows},16] → sinCos`, stock, fast);
    x.dispose();
  }
}

void main();
