/**
 * A child process whose stdout and stderr are collected as text, for the tools and tests that start the project's
 * own programs and then check what they printed and how they ended (tools/fault-inject.ts,
 * test/notebook-runner.test.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface Child {
  proc: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved as read. */
  out: () => string;
  /**
   * Resolves when the process has exited and its output has been read. Node emits "exit" before the last bytes on
   * the pipes are read ("close" comes after), so this waits for "close" too, but at most 5 s: a grandchild that
   * outlived the child (a program left under npm's shell) may hold the pipes open.
   */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Child {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  proc.stdout!.on("data", (d) => (text += d));
  proc.stderr!.on("data", (d) => (text += d));
  let closed = false;
  proc.on("close", () => (closed = true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on("exit", (code, signal) => {
      const done = () => res({ code, signal });
      if (closed) return done();
      const timer = setTimeout(done, 5000);
      proc.once("close", () => (clearTimeout(timer), done()));
    }),
  );
  return { proc, out: () => text, exited };
}
