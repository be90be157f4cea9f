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
 *
 * wasm threads: Node gets tfjs-backend-wasm's single-threaded build unless asked otherwise (tfjs disables its
 * threaded build in Node). `initBackend({ wasmThreads: n })` or `SCORE_SDE_WASM_THREADS=n|auto` starts the threaded
 * XNNPACK build through `lib/perf/wasmThreads` (a shim over tfjs-backend-wasm 4.22 internals); if that cannot
 * start, the single-threaded build is used and the reason is recorded in `BackendInfo.wasmThreadsFallback`.
 *
 * Gradients: once a backend is chosen, `installFastGradients()` (lib/perf/fastGradients) replaces tfjs' registered
 * gradients of BatchMatMul, Add and Sub process-wide with the same math on faster kernels (explicit transposes
 * instead of transposed-matMul flags, bias reductions as one matMul); `linear` in lib/models/ops relies on them.
 * Installing is idempotent; `uninstallFastGradients()` restores tfjs' own.
 *
 * Native kernels: on wasm, `installNativeKernels()` (lib/perf/native) moves matMul and convolution kernels to the
 * system's oneDNN through a small addon built at setup (tools/build-native.js). Threads asked for with
 * `wasmThreads` / SCORE_SDE_WASM_THREADS then go to the addon (oneDNN's OpenMP pool), and wasm stays on its single-threaded build
 * (`BackendInfo.wasmThreadsToNative`); without the addon they start the threaded wasm build as described above. Absent addon or `SCORE_SDE_NATIVE=0`: the wasm kernels, and `BackendInfo.nativeUnavailable`
 * says why.
 */
import * as os from "os";
import * as tf from "@tensorflow/tfjs";
import {
  WASM_MAX_THREADS,
  disableWasmThreads,
  installWasmThreadsShim,
  wasmThreadsUnsupportedReason,
  type WasmBackendModule,
} from "./perf/wasmThreads";
import { installFastGradients } from "./perf/fastGradients";
import { installNativeKernels, nativeAddonLoadable, nativeKernelsInfo, nativeKernelsUnavailableReason } from "./perf/native";

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
  /** Why more wasm threads were asked for but one is used, when that happened. */
  wasmThreadsFallback?: string;
  /** True when more than one thread was asked for and they went to the native kernels (wasm runs one thread). */
  wasmThreadsToNative?: boolean;
  /** wasm only: the native kernels of lib/perf/native, when installed (library, e.g. "oneDNN 2.6.3 avx512_core", and threads). */
  native?: { library: string; threads: number };
  /** wasm only: why the native kernels are not in use. */
  nativeUnavailable?: string;
}

export interface InitBackendOptions {
  /** Force a backend, or "auto" (default: env SCORE_SDE_BACKEND, else "auto"). */
  backend?: BackendName | "auto";
  /** Do not print the choice. */
  quiet?: boolean;
  /** Module loader, injectable for tests (default: Node's require). */
  load?: (moduleName: string) => unknown;
  /**
   * Threads for the wasm backend: 1 (the single-threaded build), an integer up to 8, or "auto" (one per CPU core,
   * at most 8). Default: env SCORE_SDE_WASM_THREADS, else 1. Only takes effect when wasm is first initialised
   * in the process (tfjs keeps one wasm backend per process).
   */
  wasmThreads?: number | "auto";
  /** Give up on the threaded build after this long and fall back to one thread (default 30 s). */
  wasmThreadsTimeoutMs?: number;
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

/** Resolves the wanted wasm thread count (1..8) from the option, else the environment. */
export function resolveWasmThreads(option?: number | "auto"): number {
  const raw: number | string = option ?? process.env.SCORE_SDE_WASM_THREADS ?? 1;
  if (raw === "auto" || (typeof raw === "string" && raw.trim().toLowerCase() === "auto"))
    return Math.max(1, Math.min(WASM_MAX_THREADS, os.cpus().length));
  const n = typeof raw === "number" ? raw : Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > WASM_MAX_THREADS) {
    const source = option !== undefined ? "initBackend({ wasmThreads })" : "environment variable SCORE_SDE_WASM_THREADS";
    throw new Error(`${source}: wasm threads must be "auto" or an integer in [1, ${WASM_MAX_THREADS}], got "${raw}"`);
  }
  return n;
}

function timeout(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${ms} ms`)), ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Starts the wasm backend with `threads` XNNPACK threads; resolves to undefined on success or to the reason it
 * fell back. When the threaded build fails, the flags are reset so the caller can start the 1-thread build.
 */
async function startThreadedWasm(wasmModule: WasmBackendModule, threads: number, timeoutMs: number): Promise<string | undefined> {
  const unsupported = wasmThreadsUnsupportedReason(wasmModule);
  if (unsupported) return unsupported;
  let shim: ReturnType<typeof installWasmThreadsShim>;
  try {
    shim = installWasmThreadsShim(tf.env(), wasmModule, threads);
  } catch (e) {
    disableWasmThreads(tf.env(), wasmModule);
    return messageOf(e);
  }
  const limit = timeout(timeoutMs, "the threaded wasm build");
  let reason: string | undefined;
  try {
    const ok = await Promise.race([tf.setBackend("wasm"), limit.promise]);
    if (!ok) reason = "the threaded wasm build failed to initialise";
  } catch (e) {
    reason = messageOf(e);
  } finally {
    limit.cancel();
    shim.restore();
  }
  if (reason === undefined) {
    // The backend runs; if the pool came out smaller than asked, it is still a correct backend: keep it and say so.
    const got = wasmModule.getThreadsCount();
    return got === threads ? undefined : `the threaded wasm build started with ${got} thread(s) instead of ${threads}`;
  }
  // Nothing was registered (a failed or timed-out init leaves no instance; tfjs ignores a stale pending init once
  // setBackend is called again): reset the flags so the next setBackend("wasm") builds the 1-thread module.
  disableWasmThreads(tf.env(), wasmModule);
  return reason;
}

async function tryBackend(
  name: BackendName,
  load: (m: string) => unknown,
  opts: InitBackendOptions & { wantedThreads: number },
  info: { threads?: number; wasmThreadsFallback?: string; wasmThreadsToNative?: boolean },
): Promise<string | undefined> {
  try {
    if (name === "node-gpu" || name === "node") {
      load(NATIVE_MODULE[name]); // registers the "tensorflow" backend on the shared tfjs engine
      if (!(await tf.setBackend("tensorflow"))) return "the tensorflow backend failed to initialise";
      return undefined;
    }
    if (name === "wasm") {
      const wasmModule = load("@tensorflow/tfjs-backend-wasm") as WasmBackendModule;
      const wanted = opts.wantedThreads;
      const fresh = tf.engine().registry["wasm"] === undefined;
      let why: string | undefined;
      // With the native kernels the matMuls and convolutions (nearly all the arithmetic) run in the addon,
      // which gets the threads; a threaded wasm build beside it would only add a second spinning worker pool on the
      // same cores (measured, 2 cores: MLP w128 train step 13–17 ms with 2 + 2 threads, 8–9 ms with 1 + 2).
      const toBlas = wanted > 1 && nativeAddonLoadable(wanted);
      if (toBlas) info.wasmThreadsToNative = true;
      else if (wanted > 1 && fresh) why = await startThreadedWasm(wasmModule, wanted, opts.wasmThreadsTimeoutMs ?? 30_000);
      if (!(await tf.setBackend("wasm"))) return "the wasm backend failed to initialise";
      info.threads = typeof wasmModule.getThreadsCount === "function" ? wasmModule.getThreadsCount() : undefined;
      if (!fresh && !toBlas && info.threads !== undefined && info.threads !== wanted) {
        why = `wasm was already initialised in this process with ${info.threads} thread(s)`;
      }
      if (why !== undefined) info.wasmThreadsFallback = `asked for ${wanted} wasm thread(s), got ${info.threads ?? "?"}: ${why}`;
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
  // Validated up front: a bad thread count is an error, not a reason to skip wasm.
  const wantedThreads = resolveWasmThreads(opts.wasmThreads);
  const skipped: BackendInfo["skipped"] = [];
  for (const name of candidates) {
    const extra: { threads?: number; wasmThreadsFallback?: string; wasmThreadsToNative?: boolean } = {};
    const reason = await tryBackend(name, load, { ...opts, wantedThreads }, extra);
    if (reason === undefined) {
      installFastGradients(); // idempotent; see the file comment
      const info: BackendInfo = { name, tfjsName: tf.getBackend(), skipped, ...extra };
      if (name === "wasm") {
        // Same thread count as asked of wasm: the matMuls and convolutions move to the addon, so its threads matter.
        if (installNativeKernels(wantedThreads)) info.native = nativeKernelsInfo(); else info.nativeUnavailable = nativeKernelsUnavailableReason();
      }
      const quiet = opts.quiet ?? process.env.SCORE_SDE_QUIET === "1";
      if (!quiet) {
        const why = skipped.length ? ` (skipped: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")})` : "";
        const threads = info.threads !== undefined ? `, ${info.threads} thread${info.threads === 1 ? "" : "s"}${info.wasmThreadsToNative ? " (the asked threads went to the native kernels)" : ""}` : "";
        const fb = info.wasmThreadsFallback ? ` [${info.wasmThreadsFallback}]` : "";
        const nat = info.native
          ? ` + ${info.native.library} matMul/conv kernels (${info.native.threads} thread${info.native.threads === 1 ? "" : "s"})`
          : info.nativeUnavailable ? ` (no native kernels: ${info.nativeUnavailable})` : "";
        console.log(`[score-sde-ts] tfjs backend: ${name}${threads}${nat}${why}${fb}`);
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
  if (current && opts.backend === undefined && opts.load === undefined && opts.wasmThreads === undefined) return current;
  current = choose(opts);
  current.catch(() => (current = undefined));
  return current;
}

/** The backend chosen by `initBackend`, or undefined before it finished. */
export async function backendInfo(): Promise<BackendInfo | undefined> {
  return current;
}
