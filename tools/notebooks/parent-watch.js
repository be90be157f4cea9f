// The kernel ends itself when the process that started it dies. Jupyter and the headless runner stop their kernels
// when they exit normally; a runner killed with SIGKILL (or a crashed Jupyter server) cannot, and tslab would live
// on, reparented to PID 1, with its temporary folder behind (ipykernel has the same guard, its "parent poller").
//
// A worker thread polls the parent pid (getppid changes when the parent dies and the kernel is reparented), so it
// fires even while a cell keeps the kernel's main thread busy. It then removes the kernel's temporary folder (the
// one the runner created for the connection file, passed as SCORE_SDE_KERNEL_TMP; nothing else) and ends the
// kernel with SIGKILL: a SIGTERM'ed tslab can hang on its file watchers.
"use strict";
const { Worker } = require("node:worker_threads");

const WATCH = `
const { workerData: w } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");
setInterval(() => {
  if (process.ppid === w.ppid) return;
  if (w.dir && path.basename(w.dir).startsWith("score-sde-kernel-")) {
    try { fs.rmSync(w.dir, { recursive: true, force: true }); } catch {}
  }
  process.kill(w.pid, "SIGKILL");
}, w.intervalMs);
`;

/** Starts the watch (no-op when the parent is already PID 1: nothing to notice). */
function watchParent(intervalMs = 500) {
  if (process.ppid <= 1) return;
  const worker = new Worker(WATCH, {
    eval: true,
    workerData: { ppid: process.ppid, pid: process.pid, dir: process.env.SCORE_SDE_KERNEL_TMP || "", intervalMs },
    // The kernel's own flags (e.g. a heap limit) are not the watcher's business.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
}

module.exports = { watchParent };
