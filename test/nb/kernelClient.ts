/**
 * A test's view of the project's tslab kernel (tools/notebooks/kernel-main.js) over the Jupyter protocol
 * (tools/notebooks/kernel.js): start it in a folder, execute cells, collect their iopub messages, shut it down.
 */
import * as path from "node:path";
import { ROOT } from "../helpers";

export interface IopubMsg {
  header: { msg_type: string };
  content: { text?: string; name?: string; data?: Record<string, unknown>; transient?: { display_id?: string } };
}
interface KernelClient {
  ready(): Promise<unknown>;
  request(ch: string, type: string, content: object, o: { timeoutMs: number; onIopub: (m: IopubMsg) => void }): Promise<{ content: { status: string } }>;
  shutdown(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Kernel } = require(path.join(ROOT, "tools", "notebooks", "kernel.js")) as {
  Kernel: { start(spec: { argv: string[] }, o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<KernelClient> };
};

export interface CellResult {
  status: string;
  /** stdout and stderr text, trimmed */
  out: string;
  /** every iopub message but status */
  messages: IopubMsg[];
}
export type Exec = (code: string, stopOnError?: boolean) => Promise<CellResult>;

/** Runs `body` with a fresh kernel started in `cwd` (extra environment in `env`); always shuts it down. */
export async function withKernel(cwd: string, env: NodeJS.ProcessEnv, body: (exec: Exec) => Promise<void>): Promise<void> {
  const argv = [process.execPath, path.join(ROOT, "tools", "notebooks", "kernel-main.js"), "kernel", "--config-path", "{connection_file}"];
  const k = await Kernel.start({ argv }, { cwd, env });
  try {
    await k.ready();
    await body(async (code, stopOnError = true) => {
      let out = "";
      const messages: IopubMsg[] = [];
      const r = await k.request("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: stopOnError }, {
        timeoutMs: 120_000,
        onIopub: (msg) => {
          messages.push(msg);
          if (msg.header.msg_type === "stream") out += msg.content.text ?? "";
        },
      });
      return { status: r.content.status, out: out.trim(), messages };
    });
  } finally {
    await k.shutdown();
  }
}
