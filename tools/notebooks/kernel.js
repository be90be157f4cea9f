// A minimal Jupyter client: starts a kernel from its kernelspec and speaks the Jupyter messaging protocol (v5.3)
// to it over zeromq (the same wire protocol JupyterLab, nbclient and VS Code use), so notebooks run exactly as they
// do interactively — same kernel process, same per-cell compile and display path — without Python.
// zeromq is installed as tslab's own dependency.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const zmq = require("zeromq");

const DELIM = Buffer.from("<IDS|MSG>");

/** Free TCP ports on 127.0.0.1 (bound then released; the kernel binds them right after). */
async function freePorts(n) {
  const servers = [];
  const ports = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((res, rej) => s.once("error", rej).listen(0, "127.0.0.1", res));
    servers.push(s);
    ports.push(s.address().port);
  }
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return ports;
}

/** Kernels started by this process and not yet shut down (killed on the runner's signals and exit). */
const live = new Set();

class Kernel {
  /**
   * Ends every live kernel at once (SIGKILL, not waiting) and removes its temporary folder. Synchronous, so it can
   * run in signal and exit handlers.
   */
  static killAll() {
    for (const k of live) k.kill();
  }

  /** SIGKILL to the kernel (and its process group), temporary folder removed. */
  kill() {
    live.delete(this);
    if (this.proc && !this.dead) {
      try {
        process.kill(-this.proc.pid, "SIGKILL"); // the kernel leads its own process group (detached)
      } catch {
        try {
          this.proc.kill("SIGKILL");
        } catch {
          /* already gone */
        }
      }
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * @param {{argv: string[], env?: Record<string,string>}} spec  kernelspec ("{connection_file}" is substituted)
   * @param {{cwd: string, env?: NodeJS.ProcessEnv}} opts
   */
  static async start(spec, opts) {
    const k = new Kernel();
    await k._start(spec, opts);
    return k;
  }

  async _start(spec, opts) {
    // A socket path may hold at most 107 bytes: a long TMPDIR falls back to /tmp.
    const tmp = Buffer.byteLength(os.tmpdir()) <= 64 ? os.tmpdir() : "/tmp";
    this.dir = fs.mkdtempSync(path.join(tmp, "score-sde-kernel-"));
    this.key = crypto.randomBytes(16).toString("hex");
    this.session = crypto.randomUUID();
    // Unix-domain sockets in the kernel's own fresh folder, not TCP ports: a port found free and released here can
    // be taken by anything else on the machine before the kernel binds it (CI saw tslab die of EADDRINUSE while
    // parallel tests started kernels), and a path inside a folder only this process created cannot be. Jupyter's
    // "ipc" transport; tslab binds `${transport}://${ip}:${port}`, so each channel is the file "k:<n>" there.
    const ip = path.join(this.dir, "k");
    const [shell, iopub, stdin, control, hb] = [1, 2, 3, 4, 5];
    this.conn = {
      transport: "ipc",
      ip,
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
      key: this.key,
      signature_scheme: "hmac-sha256",
      kernel_name: "tslab",
    };
    this.connFile = path.join(this.dir, "kernel.json");
    fs.writeFileSync(this.connFile, JSON.stringify(this.conn));
    const argv = spec.argv.map((a) => a.replace("{connection_file}", this.connFile));
    // The kernel's own stdout/stderr (start-up failures, crashes) are kept for error reports.
    this.log = "";
    // Its own process group: a Ctrl-C in the terminal reaches the runner, which stops the kernel (tslab would take
    // SIGINT as "interrupt the cell" and stay). SCORE_SDE_KERNEL_TMP tells the kernel which folder to remove if it
    // outlives this process (tools/notebooks/parent-watch.js).
    live.add(this);
    this.proc = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...process.env, ...(spec.env || {}), ...(opts.env || {}), SCORE_SDE_KERNEL_TMP: this.dir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const keep = (d) => {
      this.log = (this.log + d.toString()).slice(-20000);
    };
    this.proc.stdout.on("data", keep);
    this.proc.stderr.on("data", keep);
    this.exited = new Promise((res) => this.proc.once("exit", (code, sig) => res({ code, sig })));
    this.exited.then(() => (this.dead = true));

    const addr = (p) => `ipc://${ip}:${p}`;
    this.shell = new zmq.Dealer({ routingId: this.session });
    this.control = new zmq.Dealer();
    this.iopub = new zmq.Subscriber();
    this.shell.connect(addr(shell));
    this.control.connect(addr(control));
    this.iopub.connect(addr(iopub));
    this.iopub.subscribe();

    // Route every iopub and shell message to the request (msg_id) it answers.
    this.waiters = new Map();
    this._pump(this.iopub, "iopub");
    this._pump(this.shell, "shell");
    this._pump(this.control, "control");
  }

  async _pump(sock, channel) {
    try {
      for await (const frames of sock) {
        let msg;
        try {
          msg = this._parse(frames);
        } catch (e) {
          continue; // a malformed or wrongly signed message is not ours
        }
        const w = this.waiters.get(msg.parent_header && msg.parent_header.msg_id);
        if (w) w(channel, msg);
      }
    } catch {
      // socket closed
    }
  }

  _sign(parts) {
    const h = crypto.createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  _parse(frames) {
    const i = frames.findIndex((f) => f.equals(DELIM));
    if (i < 0) throw new Error("no delimiter");
    const [sig, ...parts] = frames.slice(i + 1);
    const body = parts.slice(0, 4);
    if (this._sign(body) !== sig.toString()) throw new Error("bad signature");
    const [header, parent_header, metadata, content] = body.map((b) => JSON.parse(b.toString()));
    return { header, parent_header, metadata, content };
  }

  _send(sock, msgType, content) {
    const header = {
      msg_id: crypto.randomUUID(),
      session: this.session,
      username: "score-sde-ts",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    };
    const body = [header, {}, {}, content].map((o) => JSON.stringify(o));
    sock.send([DELIM, this._sign(body), ...body]);
    return header.msg_id;
  }

  /**
   * Sends a request and collects iopub messages for it until both the reply and the iopub `idle` status arrived.
   * onIopub(msg) sees each iopub message as it comes. Rejects after timeoutMs (with .timeout = true) or when the
   * kernel process dies.
   */
  request(channel, msgType, content, { timeoutMs = 60000, onIopub = () => {} } = {}) {
    const sock = channel === "control" ? this.control : this.shell;
    return new Promise((resolve, reject) => {
      let reply = null;
      let idle = false;
      let id = null;
      const done = (err, val) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        err ? reject(err) : resolve(val);
      };
      const timer = setTimeout(() => {
        const e = new Error(`no answer to ${msgType} within ${timeoutMs / 1000} s`);
        e.timeout = true;
        done(e);
      }, timeoutMs);
      this.exited.then(({ code, sig }) => {
        done(new Error(`the kernel process exited (code ${code}, signal ${sig}) during ${msgType}.\nKernel log:\n${this.log}`));
      });
      id = this._send(sock, msgType, content);
      this.waiters.set(id, (ch, msg) => {
        if (ch === "iopub") {
          if (msg.header.msg_type === "status") {
            if (msg.content.execution_state === "idle") idle = true;
          } else {
            onIopub(msg);
          }
        } else {
          reply = msg;
        }
        if (reply && idle) done(null, reply);
      });
    });
  }

  /**
   * Waits until the kernel answers kernel_info on shell AND its iopub messages reach us (a SUB socket drops what
   * is published before its subscription is in place, so nbclient does the same).
   */
  async ready(timeoutMs = 60000) {
    const t0 = Date.now();
    for (;;) {
      try {
        return await this.request("shell", "kernel_info_request", {}, { timeoutMs: 2000 });
      } catch (e) {
        if (!e.timeout || Date.now() - t0 > timeoutMs) {
          throw new Error(`the kernel did not start within ${timeoutMs / 1000} s: ${e.message}\nKernel log:\n${this.log}`);
        }
      }
    }
  }

  /** SIGINT: tslab's kernel interrupts the running cell on it (interrupt_mode "signal"). */
  interrupt() {
    if (!this.dead) this.proc.kill("SIGINT");
  }

  async shutdown() {
    if (!this.dead) {
      try {
        await this.request("control", "shutdown_request", { restart: false }, { timeoutMs: 3000 });
      } catch {
        // fall through to the kill
      }
    }
    // tslab keeps file watchers (and possibly a Chromium) alive after closing its sockets: end the process.
    if (!this.dead) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.dead || this.proc.kill("SIGKILL"), 3000);
      await this.exited;
      clearTimeout(t);
    }
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

module.exports = { Kernel, freePorts };
