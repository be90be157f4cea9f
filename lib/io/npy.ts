/**
 * NumPy's `.npy` format (version 1.0; 2.0 when the header is long), the array file numpy users open with
 * `np.load`. Little-endian, C order; dtypes float32, float64, int32 and uint8.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "./atomic";

export type NpyDtype = "float32" | "float64" | "int32" | "uint8";
export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array;

const DESCR: Record<NpyDtype, string> = { float32: "<f4", float64: "<f8", int32: "<i4", uint8: "|u1" };
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  throw new RangeError(`encodeNpy: data is a ${Object.prototype.toString.call(data)}; data must be a Float32Array, Float64Array, Int32Array or Uint8Array`);
}

function checkShape(where: string, shape: readonly number[], length: number): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${where}: shape = ${JSON.stringify(shape)} is not allowed; shape must be an array of non-negative integers`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== length) {
    throw new RangeError(`${where}: shape = [${shape.join(", ")}] holds ${size} elements but data has ${length}; they must match`);
  }
}

/** Encodes `data` with `shape` as the bytes of a `.npy` file. */
export function encodeNpy(data: NpyData, shape: readonly number[]): Buffer {
  const dtype = dtypeOf(data);
  checkShape("encodeNpy", shape, data.length);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1.0 stores the header length in 2 bytes; the whole preamble is padded to a multiple of 64 with a '\n' last.
  const v1 = header.length + 1 + 10 <= 0xffff;
  const pre = v1 ? 10 : 12;
  const pad = (64 - ((pre + header.length + 1) % 64)) % 64;
  header = header + " ".repeat(pad) + "\n";
  const head = Buffer.alloc(pre);
  MAGIC.copy(head, 0);
  head[6] = v1 ? 1 : 2;
  head[7] = 0;
  if (v1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, "latin1"), body]);
}

/** Decodes the bytes of a `.npy` file; `where` (e.g. the path) names the source in errors. */
export function decodeNpy(buf: Uint8Array, where = "npy data"): { data: NpyData; shape: number[]; dtype: NpyDtype } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string): never => {
    throw new Error(`${where}: not a readable .npy file (${why})`);
  };
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) bad("missing the \\x93NUMPY magic");
  const major = b[6];
  if (major !== 1 && major !== 2 && major !== 3) bad(`format version ${major}.${b[7]}`);
  const pre = major === 1 ? 10 : 12;
  if (b.length < pre) bad("truncated header");
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  if (b.length < pre + hlen) bad(`header of ${hlen} bytes but only ${b.length - pre} present`);
  const header = b.subarray(pre, pre + hlen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad(`unparsable header ${JSON.stringify(header)}`);
  if (fortran === "True") bad("Fortran order is not supported; save with np.ascontiguousarray");
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k] === descr || (k === "uint8" && descr === "<u1"));
  if (dtype === undefined) bad(`dtype ${descr} (allowed: ${Object.values(DESCR).join(", ")})`);
  const shape = shapeText!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) bad(`shape (${shapeText})`);
  const size = shape.reduce((a, c) => a * c, 1);
  const bytesPer = { float32: 4, float64: 8, int32: 4, uint8: 1 }[dtype!];
  const start = pre + hlen;
  if (b.length - start !== size * bytesPer) bad(`expected ${size * bytesPer} data bytes for shape [${shape.join(", ")}], found ${b.length - start}`);
  const raw = new Uint8Array(size * bytesPer);
  raw.set(b.subarray(start));
  const data: NpyData =
    dtype === "float32" ? new Float32Array(raw.buffer) : dtype === "float64" ? new Float64Array(raw.buffer) : dtype === "int32" ? new Int32Array(raw.buffer) : raw;
  return { data, shape, dtype: dtype! };
}

/** Writes a `.npy` file atomically. */
export function writeNpy(file: string, data: NpyData, shape: readonly number[]): void {
  writeFileAtomic(file, encodeNpy(data, shape));
}

/** Reads a `.npy` file; errors name the path. */
export function readNpy(file: string): { data: NpyData; shape: number[]; dtype: NpyDtype } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`readNpy: ${JSON.stringify(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeNpy(buf, JSON.stringify(file));
}
