/**
 * The safetensors format (Hugging Face, https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length n, an n-byte JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__":
 * { string: string } } (padded with spaces to a multiple of 8 bytes), then the raw little-endian tensor bytes, C
 * order, offsets relative to the end of the header. PyTorch users read it with `safetensors.torch.load_file`.
 * Only float32 ("F32") tensors are written and read here.
 */
import { fail } from "../validate";
import { writeFileAtomic } from "./atomic";
import * as fs from "node:fs";

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Encodes float32 tensors (names unique) and string metadata as safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Buffer {
  const W = "encodeSafetensors";
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") fail(W, `metadata.${k}`, v, "a string (safetensors metadata is string → string)");
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) fail(W, "tensor name", t.name, "unique (given twice, or __metadata__)");
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== size) fail(W, `data of "${t.name}"`, t.data?.length, `a Float32Array of ${size} values (shape [${t.shape}])`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** Decodes safetensors bytes (F32 tensors only); `where` names the source in errors. */
export function decodeSafetensors(buf: Uint8Array, where = "safetensors data"): { tensors: NamedTensor[]; metadata: Record<string, string> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8) throw new Error(`${where}: ${b.length} bytes, shorter than the 8-byte header length (truncated)`);
  const n = Number(b.readBigUInt64LE(0));
  if (8 + n > b.length) throw new Error(`${where}: header length ${n} exceeds the file (${b.length} bytes): truncated or not safetensors`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(b.subarray(8, 8 + n).toString("utf8"));
  } catch (e) {
    throw new Error(`${where}: the header is not valid JSON (${(e as Error).message}): not a safetensors file`);
  }
  const data = b.subarray(8 + n);
  const metadata = ((header as Record<string, unknown>).__metadata__ ?? {}) as Record<string, string>;
  const tensors: NamedTensor[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (e.dtype !== "F32") throw new Error(`${where}: tensor "${name}" has dtype ${e.dtype}; only F32 is read here`);
    const [s, t] = e.data_offsets;
    const size = e.shape.reduce((a: number, c: number) => a * c, 1);
    if (t - s !== 4 * size || t > data.length) throw new Error(`${where}: tensor "${name}" offsets [${s}, ${t}] do not hold ${size} float32 values in ${data.length} data bytes`);
    const out = new Float32Array(size);
    new Uint8Array(out.buffer).set(data.subarray(s, t));
    tensors.push({ name, shape: e.shape.slice(), data: out });
  }
  tensors.sort((a, b2) => header[a.name].data_offsets[0] - header[b2.name].data_offsets[0]);
  return { tensors, metadata };
}

export function writeSafetensors(file: string, tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: NamedTensor[]; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read the safetensors file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeSafetensors(buf, file);
}
