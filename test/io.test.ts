import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { decodeNpy, encodeNpy, readJsonFile, readNpy, writeFileAtomic, writeJsonAtomic, writeNpy } from "../lib/io";
import { tempDir } from "./helpers";

const tmpDir = () => tempDir("score-sde-io-");

test("npy: the header numpy writes for float32 (3, 2), and a byte-exact round trip", () => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6.5]);
  const b = encodeNpy(data, [3, 2]);
  // numpy 1.x writes exactly this header for np.zeros((3,2), np.float32): 128-byte preamble, version 1.0.
  assert.equal(b.subarray(0, 8).toString("latin1"), "\x93NUMPY\x01\x00");
  assert.equal(b.readUInt16LE(8), 118);
  assert.equal((10 + 118) % 64, 0);
  assert.ok(b.subarray(10, 128).toString("latin1").startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
  assert.equal(b[127], 0x0a);
  assert.equal(b.length, 128 + 24);
  const back = decodeNpy(b);
  assert.deepEqual(back.shape, [3, 2]);
  assert.equal(back.dtype, "float32");
  assert.deepEqual(Array.from(back.data), Array.from(data));
});

test("npy: 1-D shape is written as (n,), every dtype round-trips, files are written atomically", () => {
  const dir = tmpDir();
  const cases = [new Float64Array([1e-300, -2]), new Int32Array([-7, 8, 9]), new Uint8Array([0, 255])];
  for (const d of cases) {
    const f = path.join(dir, "a.npy");
    writeNpy(f, d, [d.length]);
    assert.ok(fs.readFileSync(f).toString("latin1").includes(`'shape': (${d.length},)`));
    const r = readNpy(f);
    assert.deepEqual(Array.from(r.data), Array.from(d));
  }
  assert.deepEqual(fs.readdirSync(dir), ["a.npy"]);
});

test("npy: bad shapes and corrupt files give errors that say what is wrong", () => {
  assert.throws(() => encodeNpy(new Float32Array(6), [4, 2]), /shape = \[4, 2\] holds 8 elements but data has 6/);
  assert.throws(() => encodeNpy(new Float32Array(2), [-1, -2]), /shape must be an array of non-negative integers/);
  const good = encodeNpy(new Float32Array(6), [3, 2]);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 4), "x.npy"), /x\.npy: not a readable \.npy file \(expected 24 data bytes/);
  assert.throws(() => decodeNpy(Buffer.from("hello world"), "y.npy"), /y\.npy: .*magic/);
  assert.throws(() => readNpy("/nonexistent/z.npy"), /"\/nonexistent\/z\.npy" cannot be read \(ENOENT\)/);
});

test("writeFileAtomic replaces whole files and refuses a directory; readJsonFile names the file", () => {
  const dir = tmpDir();
  const f = path.join(dir, "r.json");
  writeJsonAtomic(f, { a: 1 });
  writeJsonAtomic(f, { a: 2 });
  assert.deepEqual(readJsonFile(f, "result"), { a: 2 });
  assert.deepEqual(fs.readdirSync(dir), ["r.json"]);
  assert.throws(() => writeFileAtomic(dir, "x"), /is a directory/);
  fs.writeFileSync(f, '{"a": 1, "b"');
  assert.throws(() => readJsonFile(f, "ablation result"), (e: Error) => e.message.includes("ablation result") && e.message.includes(f) && /not valid JSON.*restore it with git/.test(e.message));
  fs.writeFileSync(f, "");
  assert.throws(() => readJsonFile(f, "result"), /is empty/);
  assert.throws(() => readJsonFile(path.join(dir, "none.json"), "result"), /does not exist/);
  assert.throws(() => readJsonFile(dir, "result"), /is a directory/);
});

test("writeFileAtomic removes the temporary files that killed writes of dead processes left beside the target", () => {
  const dir = tmpDir();
  const f = path.join(dir, "result.json");
  // A pid that cannot be alive (above the kernel's pid_max) and our parent's (alive): only the first is removed.
  const dead = path.join(dir, `.result.json.4194305.1700000000000.tmp`);
  const live = path.join(dir, `.result.json.${process.ppid}.1700000000000.tmp`);
  fs.writeFileSync(dead, '{"half');
  fs.writeFileSync(live, '{"in progress');
  writeJsonAtomic(f, { ok: true });
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(live), "result.json"].sort());
});
