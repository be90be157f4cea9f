/**
 * The project's tslab kernel (tools/notebooks/kernel-main.js) spoken to over the Jupyter protocol
 * (tools/notebooks/kernel.js): the two fixes it adds to tslab 1.0.22 —
 *   - `import … from "./folder"` resolves folder/index.ts (tslab alone throws "Cannot find module");
 *   - after editing a module, re-running the import cell gives the new code everywhere, also through modules that
 *     import the edited one (tslab alone keeps those importers' old copies).
 */
import { after, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";

interface IopubMsg {
  header: { msg_type: string };
  content: { text?: string; name?: string };
}
interface KernelClient {
  conn: { transport: string; ip: string };
  dir: string;
  ready(): Promise<unknown>;
  request(ch: string, type: string, content: object, o: { timeoutMs: number; onIopub: (m: IopubMsg) => void }): Promise<{ content: { status: string } }>;
  shutdown(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Kernel } = require(path.join(ROOT, "tools", "notebooks", "kernel.js")) as {
  Kernel: { start(spec: { argv: string[] }, o: { cwd: string }): Promise<KernelClient> };
};

fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", "nb-kernel-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it("resolves folder imports and reloads edited modules transitively on re-import", async () => {
  fs.mkdirSync(path.join(dir, "mod"));
  const write = (f: string, s: string): void => fs.writeFileSync(path.join(dir, "mod", f), s);
  write("a.ts", 'export function a(): string { return "a1"; }\n');
  write("b.ts", 'import { a } from "./a";\nexport function b(): string { return `b(${a()})`; }\n');
  write("index.ts", 'export { b } from "./b";\n');
  const k = await Kernel.start({ argv: [process.execPath, path.join(ROOT, "tools", "notebooks", "kernel-main.js"), "kernel", "--config-path", "{connection_file}"] }, { cwd: dir });
  try {
    await k.ready();
    const run = async (code: string): Promise<string> => {
      let out = "";
      const r = await k.request("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false }, {
        timeoutMs: 120_000,
        onIopub: (m) => {
          if (m.header.msg_type === "stream") out += m.content.text ?? "";
        },
      });
      assert.equal(r.content.status, "ok", out);
      return out.trim();
    };
    const cell = 'import { b } from "./mod";\nconsole.log(b());';
    assert.equal(await run(cell), "b(a1)");
    write("a.ts", 'export function a(): string { return "a2"; }\n');
    // TypeScript polls watched files; wait until the change is seen (at most ~20 s on a loaded machine).
    let seen = "";
    for (let i = 0; i < 20 && seen !== "b(a2)"; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      seen = await run(cell);
    }
    assert.equal(seen, "b(a2)", "a.ts was edited; b.ts (imported through mod/index.ts) must see the new a()");
  } finally {
    await k.shutdown();
  }
});

it("talks over Unix sockets in the kernel's own folder, so kernels started at once never race for a TCP port", async () => {
  // CI once lost a notebook test to tslab dying of EADDRINUSE: a port the client had found free was taken before the
  // kernel bound it. Three kernels started together must all answer, each bound only to files in its own folder.
  const argv = [process.execPath, path.join(ROOT, "tools", "notebooks", "kernel-main.js"), "kernel", "--config-path", "{connection_file}"];
  const ks = await Promise.all([0, 1, 2].map(() => Kernel.start({ argv }, { cwd: dir })));
  try {
    await Promise.all(ks.map((k) => k.ready()));
    for (const k of ks) {
      assert.equal(k.conn.transport, "ipc");
      assert.equal(path.dirname(k.conn.ip), k.dir);
      const socks = fs.readdirSync(k.dir).filter((f) => f.startsWith("k:")).sort();
      assert.deepEqual(socks, ["k:1", "k:2", "k:3", "k:4", "k:5"]);
      assert.ok(fs.statSync(path.join(k.dir, "k:1")).isSocket(), "k:1 is a Unix socket");
    }
    assert.equal(new Set(ks.map((k) => k.dir)).size, 3);
  } finally {
    await Promise.all(ks.map((k) => k.shutdown()));
  }
  for (const k of ks) assert.ok(!fs.existsSync(k.dir), `${k.dir} removed at shutdown`);
});
