/**
 * Multi-threaded tfjs-backend-wasm in Node.
 *
 * Why this exists: tfjs-backend-wasm ships a threaded SIMD build (XNNPACK over a pthread pool), but its flag
 * `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false in Node (tfjs issue #3830), so Node users always get one
 * thread. Three things stop the threaded build from starting in Node, and this module works around each of them
 * for the duration of `tf.setBackend("wasm")` only:
 *   1. the pthread worker script and the main module script are handed to the workers as `Blob` object URLs,
 *      which Node's `worker_threads.Worker` cannot load → we record the blobs' text as it is built and serve
 *      both scripts from files in a private temporary folder;
 *   2. the main module's source, evaluated inside a worker, refers to the bundle's module-scope names for
 *      `fs`, `path`, `os` and the global object → the served copy defines them first;
 *   3. the C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two hyper-threads per
 *      core), i.e. one thread on a 2-core machine → `os.cpus()` reports twice the wanted count while the module
 *      starts.
 * And one that would make every program hang at its end: Emscripten `ref()`s each worker running a pthread, and
 * XNNPACK's pool threads never finish, so Node would never exit → the pool's workers are created unreferenced
 * (their `ref()` is a no-op). Nothing on the main thread waits on a worker's messages: XNNPACK blocks the main
 * thread synchronously until the pool is done, so an unreferenced pool loses nothing.
 * This relies on tfjs-backend-wasm 4.22 internals (the names above); it checks the version and the shapes it
 * expects and, when anything differs, leaves everything untouched so the caller falls back to one thread.
 */
import * as fs from "fs";
import * as path from "path";
// The CommonJS module objects themselves (not ES namespace copies, whose properties are read-only getters): the
// bundle reads `cpus` and `Worker` from these same objects.
// (`require` rather than `import x = require()`, which the notebook kernel's ES-module compile rejects.)
// eslint-disable-next-line @typescript-eslint/no-var-requires
const os: typeof import("os") = require("os");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const workerThreads: typeof import("worker_threads") = require("worker_threads");

/** The tfjs-backend-wasm version whose internals this shim was written against. */
export const WASM_THREADS_SUPPORTED_VERSION = "4.22.0";
/** tfjs-backend-wasm pre-creates 8 pthread workers and XNNPACK's pool is capped at 8 threads. */
export const WASM_MAX_THREADS = 8;

/** The parts of `@tensorflow/tfjs-backend-wasm` the shim needs (typed here to avoid `any`). */
export interface WasmBackendModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm?: string;
}

/** The parts of the tfjs environment the shim needs. */
export interface TfEnvLike {
  set(flag: string, value: boolean): void;
}

export interface WasmThreadsShim {
  /** Undo every temporary patch (idempotent). The served files stay until the process exits. */
  restore(): void;
  /** Folder holding the served scripts. */
  readonly dir: string;
  /** True once both scripts were seen and written (checked after the backend started). */
  served(): boolean;
}

const MAIN_MARK = "var WasmBackendModuleThreadedSimd";
const WORKER_MARK = "WasmBackendModuleThreadedSimd(Module)";
// Module-scope names of the rollup bundle that the factory's source uses; a worker evaluates that source at its
// global scope, where they do not exist.
const MAIN_PRELUDE =
  "var require$$0 = require('fs'); var require$$1 = require('path'); var require$$4 = require('os');\n" +
  "var commonjsGlobal = globalThis;\n";

/** Why the threaded build cannot be tried here, or undefined when it can. */
export function wasmThreadsUnsupportedReason(wasmModule: WasmBackendModule): string | undefined {
  if (typeof globalThis.Blob !== "function" || typeof URL.createObjectURL !== "function")
    return "this Node has no global Blob / URL.createObjectURL";
  if (typeof SharedArrayBuffer === "undefined") return "SharedArrayBuffer is not available";
  if (wasmModule.version_wasm !== WASM_THREADS_SUPPORTED_VERSION)
    return `tfjs-backend-wasm ${wasmModule.version_wasm ?? "(unknown)"} is not the audited ${WASM_THREADS_SUPPORTED_VERSION}`;
  if (typeof wasmModule.setThreadsCount !== "function") return "tfjs-backend-wasm has no setThreadsCount";
  return undefined;
}

/**
 * Installs the temporary patches; call `restore()` once `tf.setBackend("wasm")` settled.
 * `threads` must be an integer in [2, 8].
 */
export function installWasmThreadsShim(env: TfEnvLike, wasmModule: WasmBackendModule, threads: number): WasmThreadsShim {
  if (!Number.isInteger(threads) || threads < 2 || threads > WASM_MAX_THREADS)
    throw new Error(`installWasmThreadsShim: threads must be an integer in [2, ${WASM_MAX_THREADS}], got ${threads}`);
  if (Object.getOwnPropertyDescriptor(os, "cpus")?.writable !== true) throw new Error("os.cpus cannot be patched here");
  if (Object.getOwnPropertyDescriptor(workerThreads, "Worker")?.writable !== true) {
    throw new Error("worker_threads.Worker cannot be patched here");
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "score-sde-wasm-threads-"));
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const mainPath = path.join(dir, "tfjs-backend-wasm-threaded-simd.main.js");
  const workerPath = path.join(dir, "tfjs-backend-wasm-threaded-simd.worker.js");
  let mainWritten = false;
  let workerWritten = false;

  const OrigBlob = globalThis.Blob;
  const origCreateObjectURL = URL.createObjectURL;
  const origCpus = os.cpus;
  const texts = new WeakMap<Blob, string>();

  // (1) A Blob that remembers its text: Node's Blob can only be read asynchronously, but the URL must be
  // returned synchronously. The main script is written as soon as it is built: it is never given a URL, the
  // workers receive the Blob object itself.
  class RecordingBlob extends OrigBlob {
    constructor(parts?: ConstructorParameters<typeof Blob>[0], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      if (parts && parts.every((p) => typeof p === "string")) {
        const text = (parts as string[]).join("");
        texts.set(this, text);
        if (text.startsWith(MAIN_MARK)) {
          fs.writeFileSync(mainPath, MAIN_PRELUDE + text);
          mainWritten = true;
        }
      }
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob): string => {
    const text = obj instanceof OrigBlob ? texts.get(obj) : undefined;
    if (text !== undefined && text.includes(WORKER_MARK)) {
      // Each worker receives the main script as a Blob; point it at the file instead. `onmessage` is the
      // worker's global handler (the worker sets self = global and dispatches to `onmessage`).
      const redirect =
        `\n;(function () { var handle = self.onmessage; self.onmessage = function (e) {` +
        ` if (e && e.data && e.data.cmd === "load" && typeof e.data.urlOrBlob !== "string")` +
        ` e.data.urlOrBlob = ${JSON.stringify(mainPath)}; return handle(e); }; })();\n`;
      if (!workerWritten) {
        fs.writeFileSync(workerPath, text + redirect);
        workerWritten = true;
      }
      return workerPath;
    }
    return origCreateObjectURL.call(URL, obj as Blob);
  };
  // (4) Pool workers that never keep the process alive. The module copies this constructor to its global `Worker`
  // when it starts and keeps using it for any worker created later.
  const OrigWorker = workerThreads.Worker;
  class UnreferencedWorker extends OrigWorker {
    constructor(filename: string | URL, options?: import("worker_threads").WorkerOptions) {
      super(filename, options);
      super.unref();
    }
    override ref(): void {
      // Emscripten calls this when the worker starts running a pthread; the pool's threads run forever.
    }
  }
  workerThreads.Worker = UnreferencedWorker;
  // (3) The module reads the core count once, when it starts.
  (os as { cpus: () => import("os").CpuInfo[] }).cpus = () => {
    const real = origCpus.call(os);
    const fake: import("os").CpuInfo[] = [];
    for (let i = 0; i < 2 * threads; i++) fake.push(real[i % Math.max(real.length, 1)]);
    return fake;
  };
  env.set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasmModule.setThreadsCount(threads);

  let restored = false;
  return {
    dir,
    served: () => mainWritten && workerWritten,
    restore() {
      if (restored) return;
      restored = true;
      globalThis.Blob = OrigBlob;
      URL.createObjectURL = origCreateObjectURL;
      (os as { cpus: () => import("os").CpuInfo[] }).cpus = origCpus;
      workerThreads.Worker = OrigWorker;
    },
  };
}

/** Puts the flags back so that the next `tf.setBackend("wasm")` starts the single-threaded build. */
export function disableWasmThreads(env: TfEnvLike, wasmModule: WasmBackendModule): void {
  env.set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  wasmModule.setThreadsCount(-1);
}
