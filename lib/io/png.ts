/**
 * A plain PNG encoder (8-bit greyscale, RGB or RGBA, no interlacing; PNG spec, ISO/IEC 15948) on node:zlib, and
 * image grids of samples. Used for sample grids: milliseconds per image, against seconds for a figure rendered
 * through Chromium.
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
  const row = width * channels;
  const raw = Buffer.alloc(height * (row + 1)); // filter byte 0 (None) per row
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))]);
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
