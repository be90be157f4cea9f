/**
 * Chooses the TensorFlow.js backend at run time.
 *
 * Order in `auto` mode: tfjs-node-gpu (native TensorFlow with CUDA) → tfjs-node (native TensorFlow, CPU) →
 * wasm (XNNPACK) → cpu (pure JavaScript). The native packages are optionalDependencies: their install downloads
 * libtensorflow, which fails on machines without internet access, so they are usually absent and the library
 * must never require them statically. All library code is written against `@tensorflow/tfjs` only, so every
 * backend runs the same code.
 *
 * Force one with the environment variable `SCORE_SDE_BACKEND=node-gpu|node|wasm|cpu` (or `auto`, the default),
 * or with `initBackend({ backend })`. The choice is printed once (silence it with `quiet: true` or
 * `SCORE_SDE_QUIET=1`).
 */
import * as tf from "@tensorflow/tfjs";

export type BackendName = "node-gpu" | "node" | "wasm" | "cpu";
export const BACKEND_ORDER: readonly BackendName[] = ["node-gpu", "node", "wasm", "cpu"];

export interface BackendInfo {
  /** The backend that was chosen. */
  name: BackendName;
  /** tfjs' own name of the active backend ("tensorflow", "wasm", "cpu"). */
  tfjsName: string;
  /** Backends tried before the chosen one, with the reason each was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** Worker threads the backend uses (wasm), when known. */
  threads?: number;
}

export interface InitBackendOptions {
  /** Force a backend, or "auto" (default: env SCORE_SDE_BACKEND, else "auto"). */
  backend?: BackendName | "auto";
  /** Do not print the choice. */
  quiet?: boolean;
  /** Module loader, injectable for tests (default: Node's require). */
  load?: (moduleName: string) => unknown;
}

const NATIVE_MODULE: Record<"node-gpu" | "node", string> = {
  "node-gpu": "@tensorflow/tfjs-node-gpu",
  node: "@tensorflow/tfjs-node",
};

let current: Promise<BackendInfo> | undefined;

function parseBackend(value: string, source: string): BackendName | "auto" {
  const v = value.trim().toLowerCase();
  if (v === "auto" || (BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendName | "auto";
  throw new Error(`${source}: backend "${value}" is not known; allowed: auto, ${BACKEND_ORDER.join(", ")}`);
}

function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0];
}

async function tryBackend(name: BackendName, load: (m: string) => unknown): Promise<string | undefined> {
  try {
    if (name === "node-gpu" || name === "node") {
      load(NATIVE_MODULE[name]); // registers the "tensorflow" backend on the shared tfjs engine
      if (!(await tf.setBackend("tensorflow"))) return "the tensorflow backend failed to initialise";
      return undefined;
    }
    if (name === "wasm") {
      load("@tensorflow/tfjs-backend-wasm");
      if (!(await tf.setBackend("wasm"))) return "the wasm backend failed to initialise";
      return undefined;
    }
    if (!(await tf.setBackend("cpu"))) return "the cpu backend failed to initialise";
    return undefined;
  } catch (e) {
    return messageOf(e);
  }
}

async function choose(opts: InitBackendOptions): Promise<BackendInfo> {
  const load = opts.load ?? ((m: string) => require(m));
  const wanted =
    opts.backend ?? parseBackend(process.env.SCORE_SDE_BACKEND ?? "auto", "environment variable SCORE_SDE_BACKEND");
  if (wanted !== "auto") parseBackend(wanted, "initBackend({ backend })");
  const candidates = wanted === "auto" ? BACKEND_ORDER : [wanted];
  const skipped: BackendInfo["skipped"] = [];
  for (const name of candidates) {
    const reason = await tryBackend(name, load);
    if (reason === undefined) {
      const info: BackendInfo = { name, tfjsName: tf.getBackend(), skipped };
      const quiet = opts.quiet ?? process.env.SCORE_SDE_QUIET === "1";
      if (!quiet) {
        const why = skipped.length ? ` (skipped: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")})` : "";
        console.log(`[score-sde-ts] tfjs backend: ${name}${why}`);
      }
      return info;
    }
    skipped.push({ name, reason });
  }
  throw new Error(
    `no tfjs backend could be initialised (asked for "${wanted}"): ` +
      skipped.map((s) => `${s.name}: ${s.reason}`).join("; "),
  );
}

/**
 * Initialises the backend once and returns what was chosen; later calls return the same answer.
 * Call (and await) it before any tensor work: the wasm backend initialises asynchronously.
 * Passing options that force a different backend re-runs the choice.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  if (current && opts.backend === undefined && opts.load === undefined) return current;
  current = choose(opts);
  current.catch(() => (current = undefined));
  return current;
}

/** The backend chosen by `initBackend`, or undefined before it finished. */
export async function backendInfo(): Promise<BackendInfo | undefined> {
  return current;
}
