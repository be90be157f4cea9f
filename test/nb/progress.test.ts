/**
 * Live progress (lib/train/progress.ts): in the real kernel one output is displayed and then replaced in place
 * (Jupyter update_display_data with the same display_id) — never a stream of stderr lines; in a terminal one `\r`
 * line; elsewhere a plain line at most every few seconds. The line says step, loss, rate and time left.
 */
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers";
import { Progress, formatDuration } from "../../lib/train/progress";
import { withKernel } from "./kernelClient";

fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", "nb-progress-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.symlinkSync(path.join(ROOT, "lib"), path.join(dir, "lib"));

/** Captures what `fn` writes to stderr. */
function captureStderr(fn: () => void): string {
  const write = process.stderr.write;
  let out = "";
  process.stderr.write = ((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

describe("progress line", () => {
  it("says step, extra fields, rate, elapsed and time left", () => {
    const p = new Progress({ total: 4000, label: "VP", mode: "off", start: 1000 });
    const line = p.line(1200, { loss: 0.612345 });
    assert.match(line, /^VP {2}step 1200\/4000 {2}loss 0\.61235 {2}[\d.]+ steps\/s {2}elapsed \d+s {2}left (\d+[smh]|\d+m\d\ds|\d+h\d\dm|\?)$/);
    assert.match(new Progress({ total: 1, unit: "" , mode: "off" }).line(0.25, "NFE 120"), /^25% {2}NFE 120 {2}elapsed/);
    assert.equal(formatDuration(75), "1m15s");
    assert.throws(() => new Progress({ total: 0 }), /total must be a positive finite number, got 0/);
  });

  it("terminal mode redraws one line with \\r and ends it; lines mode is throttled, the last line always shown", () => {
    const term = captureStderr(() => {
      const p = new Progress({ total: 3, mode: "terminal" });
      p.update(1);
      p.finish(3);
    });
    assert.match(term, /^\rstep 1\/3 .*\rstep 3\/3 .*\n$/s);
    assert.equal(term.split("\n").length, 2, "one line");
    const lines = captureStderr(() => {
      const p = new Progress({ total: 100, mode: "lines", plainEverySeconds: 60 });
      for (let i = 1; i < 100; i++) p.update(i);
      p.finish();
    });
    assert.match(lines, /^step 100\/100 .*elapsed \d+s\n$/, "no line before 60 s, then the final one");
  });

  it("in the notebook kernel: one display, updated in place, ending with the final line", async () => {
    await withKernel(dir, {}, async (exec) => {
      const r = await exec(
        'import { Progress } from "./lib/train/progress";\n' +
          'const p = new Progress({ total: 4, label: "demo" });\n' +
          "for (let i = 1; i <= 3; i++) { p.update(i, { loss: 1 / i }); await new Promise((r) => setTimeout(r, 300)); }\n" +
          "p.finish(4, { loss: 0.25 });",
      );
      assert.equal(r.status, "ok", r.out);
      assert.equal(r.out, "", "nothing on stdout/stderr");
      const shown = r.messages.filter((m) => m.header.msg_type === "display_data");
      const updates = r.messages.filter((m) => m.header.msg_type === "update_display_data");
      assert.equal(shown.length, 1);
      assert.ok(updates.length >= 2, `${updates.length} updates`);
      const id = shown[0].content.transient?.display_id;
      assert.ok(id && updates.every((u) => u.content.transient?.display_id === id));
      assert.match(String(shown[0].content.data?.["text/html"]), /<progress value="0\.2500" max="1"/);
      const last = updates[updates.length - 1].content.data ?? {};
      assert.match(String(last["text/plain"]), /^demo {2}step 4\/4 {2}loss 0\.25000 {2}[\d.]+ steps\/s {2}elapsed \ds$/);
    });
  });
});
