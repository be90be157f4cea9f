/**
 * A plain PNG encoder and decoder (8-bit greyscale, RGB or RGBA, no interlacing; PNG spec, ISO/IEC 15948) on
 * node:zlib, and image grids of samples. Used for sample grids (milliseconds per image, against seconds for a figure
 * rendered through Chromium) and to shrink the PNGs Chromium writes (`optimizePng`, lossless).
 */
import * as zlib from "node:zlib";
import { fail } from "../validate";
import { writeFileAtomic } from "./atomic";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the PNG / zlib polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** PNG bytes of an 8-bit image, pixels row-major with `channels` (1 grey, 3 RGB, 4 RGBA) interleaved values each. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Buffer {
  const W = "encodePng";
  if (!Number.isInteger(width) || width < 1) fail(W, "width", width, "a positive integer");
  if (!Number.isInteger(height) || height < 1) fail(W, "height", height, "a positive integer");
  if (![1, 3, 4].includes(channels)) fail(W, "channels", channels, "1 (grey), 3 (RGB) or 4 (RGBA)");
  if (!(pixels instanceof Uint8Array) || pixels.length !== width * height * channels) {
    fail(W, "pixels.length", pixels?.length, `width·height·channels = ${width * height * channels}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6; // colour type
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", compressRows(pixels, width, height, channels)), chunk("IEND", new Uint8Array(0))]);
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** The PNG predictor of filter type 4 (Paeth) from left a, above b, upper left c. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * The zlib stream of an image's rows, each filtered with whichever of the five PNG filters gives the smallest sum of
 * |residual| (as signed bytes), libpng's heuristic for photographs and plots, then deflated at zlib's default
 * level 6. On a 1880×1416 plotted heatmap level 9 took 1.2 s against 0.17 s and saved 1.6 % more.
 */
function compressRows(pixels: Uint8Array, width: number, height: number, bpp: number): Buffer {
  const row = width * bpp;
  const out = Buffer.alloc(height * (row + 1));
  const cand = Array.from({ length: 5 }, () => new Uint8Array(row));
  const zero = new Uint8Array(row);
  for (let y = 0; y < height; y++) {
    const cur = pixels.subarray(y * row, (y + 1) * row);
    const up = y > 0 ? pixels.subarray((y - 1) * row, y * row) : zero;
    let best = 0;
    let bestCost = Infinity;
    const [none, sub, above, avg, pth] = cand;
    for (let i = 0; i < row; i++) {
      const x = cur[i];
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = up[i];
      const c = i >= bpp ? up[i - bpp] : 0;
      none[i] = x;
      sub[i] = x - a;
      above[i] = x - b;
      avg[i] = x - ((a + b) >> 1);
      pth[i] = x - paeth(a, b, c);
    }
    for (let f = 0; f < 5; f++) {
      const r = cand[f];
      let cost = 0;
      for (let i = 0; i < row; i++) cost += r[i] < 128 ? r[i] : 256 - r[i];
      if (cost < bestCost) [best, bestCost] = [f, cost];
    }
    out[y * (row + 1)] = best;
    out.set(cand[best], y * (row + 1) + 1);
  }
  return zlib.deflateSync(out, { level: 6 });
}

/** An 8-bit image decoded from PNG bytes: pixels row-major, `channels` values each. */
export interface DecodedPng {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

interface PngChunk {
  type: string;
  data: Buffer;
}

function readChunks(png: Uint8Array, where: string): PngChunk[] {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) fail(where, "png", `${b.length} bytes`, "PNG bytes (they start with the PNG signature)");
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos + 12 <= b.length) {
    const len = b.readUInt32BE(pos);
    const type = b.subarray(pos + 4, pos + 8).toString("latin1");
    if (pos + 12 + len > b.length) fail(where, `chunk ${type}`, `${len} bytes at offset ${pos}`, `within the file's ${b.length} bytes`);
    if (b.readUInt32BE(pos + 8 + len) !== crc32(b.subarray(pos + 4, pos + 8 + len))) fail(where, `chunk ${type} CRC`, "a mismatch", "the CRC-32 of the chunk");
    chunks.push({ type, data: b.subarray(pos + 8, pos + 8 + len) });
    pos += 12 + len;
    if (type === "IEND") break;
  }
  if (chunks[0]?.type !== "IHDR" || chunks[chunks.length - 1].type !== "IEND") fail(where, "png", "its chunks", "IHDR first and IEND last");
  return chunks;
}

const CHANNELS: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 4: 2, 2: 3, 6: 4 };

/**
 * Decodes an 8-bit, non-interlaced, non-palette PNG (greyscale, grey + alpha, RGB, RGBA: what `encodePng` and
 * Chromium write). Other PNGs (16-bit, palettes, Adam7) get an error naming what they use.
 */
export function decodePng(png: Uint8Array): DecodedPng {
  const W = "decodePng";
  const chunks = readChunks(png, W);
  const ihdr = chunks[0].data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [depth, colour, , , interlace] = ihdr.subarray(8, 13);
  if (depth !== 8) fail(W, "bit depth", depth, "8");
  const channels = CHANNELS[colour];
  if (channels === undefined) fail(W, "colour type", colour, "0 (grey), 2 (RGB), 4 (grey + alpha) or 6 (RGBA); palettes are not decoded");
  if (interlace !== 0) fail(W, "interlace method", interlace, "0 (none)");
  const raw = zlib.inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  const row = width * channels;
  if (raw.length !== height * (row + 1)) fail(W, "image data", `${raw.length} bytes`, `${height} rows of 1 + ${row} bytes`);
  const pixels = new Uint8Array(height * row);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (row + 1)];
    if (f > 4) fail(W, `filter type of row ${y}`, f, "0-4");
    const src = raw.subarray(y * (row + 1) + 1, (y + 1) * (row + 1));
    const o = y * row;
    for (let i = 0; i < row; i++) {
      const a = i >= channels ? pixels[o + i - channels] : 0;
      const b = y > 0 ? pixels[o - row + i] : 0;
      const c = y > 0 && i >= channels ? pixels[o - row + i - channels] : 0;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
      pixels[o + i] = (src[i] + pred) & 255;
    }
  }
  return { pixels, width, height, channels };
}

/**
 * The same image as smaller PNG bytes, losslessly: an opaque alpha channel is dropped (RGBA → RGB, grey + alpha →
 * grey), rows are re-filtered and re-deflated (see compressRows); other chunks are kept. Returns the input bytes
 * when that is not smaller, or when the image has a palette or transparency chunk, another bit depth or interlacing.
 * Chromium's PNGs (plotly's toImage) shrink by 20-30 % (the committed notebooks' 37 figures: 3-44 %, pixels equal).
 */
export function optimizePng(png: Uint8Array): Buffer {
  const chunks = readChunks(png, "optimizePng");
  const ihdr = Buffer.from(chunks[0].data);
  const asIs = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (ihdr[8] !== 8 || CHANNELS[ihdr[9]] === undefined || ihdr[12] !== 0 || chunks.some((c) => c.type === "tRNS" || c.type === "PLTE")) return asIs;
  const img = decodePng(png);
  let { pixels, channels } = img;
  if (channels === 2 || channels === 4) {
    let opaque = true;
    for (let i = channels - 1; i < pixels.length && opaque; i += channels) opaque = pixels[i] === 255;
    if (opaque) {
      const keep = channels - 1;
      const rgb = new Uint8Array((pixels.length / channels) * keep);
      for (let p = 0, q = 0; p < pixels.length; p += channels) for (let k = 0; k < keep; k++) rgb[q++] = pixels[p + k];
      pixels = rgb;
      channels = keep as 1 | 3;
      ihdr[9] = channels === 1 ? 0 : 2;
    }
  }
  const idat = chunk("IDAT", compressRows(pixels, img.width, img.height, channels));
  const parts: Buffer[] = [SIGNATURE, chunk("IHDR", ihdr)];
  let idatWritten = false;
  for (const c of chunks.slice(1)) {
    if (c.type === "IDAT") {
      if (!idatWritten) parts.push(idat);
      idatWritten = true;
    } else parts.push(chunk(c.type, c.data));
  }
  const out = Buffer.concat(parts);
  return out.length < png.length ? out : asIs;
}

/**
 * A grid of images: `data` holds n images [h, w, c] (NHWC, C order) with values in [0, 1] (clipped), laid out in
 * rows of `cols` with `pad` pixels of `background` (0…1) between and around them, each image scaled up `scale`
 * times (nearest). Returns the 8-bit pixels and the grid's size.
 */
export function imageGrid(
  data: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  o: { cols?: number; pad?: number; scale?: number; background?: number } = {},
): { pixels: Uint8Array; width: number; height: number; channels: 1 | 3 } {
  const W = "imageGrid";
  const [n, h, w, c] = shape;
  if (![1, 3].includes(c)) fail(W, "channels", c, "1 or 3");
  if (data.length !== n * h * w * c) fail(W, "data.length", data.length, `n·h·w·c = ${n * h * w * c}`);
  const cols = o.cols ?? Math.ceil(Math.sqrt(n));
  const pad = o.pad ?? 2;
  const s = o.scale ?? 1;
  if (!Number.isInteger(cols) || cols < 1) fail(W, "cols", cols, "a positive integer");
  if (!Number.isInteger(pad) || pad < 0) fail(W, "pad", pad, "a non-negative integer");
  if (!Number.isInteger(s) || s < 1) fail(W, "scale", s, "a positive integer");
  const rows = Math.max(1, Math.ceil(n / cols));
  const width = cols * (w * s + pad) + pad;
  const height = rows * (h * s + pad) + pad;
  const bg = Math.round(Math.min(Math.max(o.background ?? 1, 0), 1) * 255);
  const pixels = new Uint8Array(width * height * c).fill(bg);
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (w * s + pad);
    const y0 = pad + Math.floor(i / cols) * (h * s + pad);
    for (let y = 0; y < h * s; y++) {
      for (let x = 0; x < w * s; x++) {
        const src = ((i * h + Math.floor(y / s)) * w + Math.floor(x / s)) * c;
        const dst = ((y0 + y) * width + x0 + x) * c;
        for (let k = 0; k < c; k++) {
          const v = Number(data[src + k]);
          pixels[dst + k] = Number.isFinite(v) ? Math.round(Math.min(Math.max(v, 0), 1) * 255) : 0;
        }
      }
    }
  }
  return { pixels, width, height, channels: c as 1 | 3 };
}

/** Writes a grid of images (values in [0, 1], NHWC) as a PNG file, atomically. */
export function writeImageGridPng(
  file: string,
  data: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  o: { cols?: number; pad?: number; scale?: number; background?: number } = {},
): void {
  const g = imageGrid(data, shape, o);
  writeFileAtomic(file, encodePng(g.pixels, g.width, g.height, g.channels));
}
