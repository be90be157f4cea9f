/**
 * lib/io/png: the decoder reads every row filter of the PNG spec, the encoder's adaptive filtering round-trips, and
 * optimizePng keeps every pixel while dropping only an opaque alpha channel.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { crc32, decodePng, encodePng, optimizePng } from "../lib/io";
import { createRng } from "../lib/random";

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG written by hand: row y filtered with filters[y % filters.length], predictors straight from the spec. */
function handPng(pixels: Uint8Array, width: number, height: number, channels: number, filters: number[], colour: number): Buffer {
  const row = width * channels;
  const raw = Buffer.alloc(height * (row + 1));
  const at = (y: number, i: number) => (y >= 0 && i >= 0 ? pixels[y * row + i] : 0);
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    raw[y * (row + 1)] = f;
    for (let i = 0; i < row; i++) {
      const a = at(y, i - channels);
      const b = at(y - 1, i);
      const c = at(y - 1, i - channels);
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, Math.floor((a + b) / 2), paeth][f];
      raw[y * (row + 1) + 1 + i] = (pixels[y * row + i] - pred + 256) % 256;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colour;
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  // Two IDAT chunks: a decoder must join them.
  const z = zlib.deflateSync(raw);
  const half = z.length >> 1;
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", z.subarray(0, half)), chunk("IDAT", z.subarray(half)), chunk("IEND", new Uint8Array(0))]);
}

function randomPixels(n: number, seed: number, smooth: boolean): Uint8Array {
  const u = createRng(seed).uniformArray(n);
  // Smooth images (a ramp plus a little noise) make the encoder choose the predicting filters.
  return Uint8Array.from(u, (v, i) => (smooth ? Math.round((i * 0.37) % 200) + Math.floor(v * 8) : Math.floor(v * 256)));
}

describe("PNG", () => {
  it("decodePng reads each filter type (0-4), grey, grey + alpha, RGB and RGBA, split IDAT", () => {
    const [w, h] = [7, 6];
    for (const [channels, colour] of [[1, 0], [2, 4], [3, 2], [4, 6]]) {
      const px = randomPixels(w * h * channels, channels, false);
      for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
        const d = decodePng(handPng(px, w, h, channels, filters, colour));
        assert.deepEqual([d.width, d.height, d.channels], [w, h, channels]);
        assert.deepEqual(Array.from(d.pixels), Array.from(px), `channels ${channels}, filters ${filters}`);
      }
    }
  });

  it("encodePng (adaptive row filters) round-trips noise and smooth images", () => {
    for (const channels of [1, 3, 4] as const) {
      for (const smooth of [false, true]) {
        const [w, h] = [33, 17];
        const px = randomPixels(w * h * channels, 7, smooth);
        const png = encodePng(px, w, h, channels);
        assert.deepEqual(Array.from(decodePng(png).pixels), Array.from(px), `channels ${channels}, smooth ${smooth}`);
        if (smooth) {
          const filters = new Set(Array.from({ length: h }, (_, y) => zlib.inflateSync(png.subarray(41, png.length - 12))[y * (w * channels + 1)]));
          assert.ok([...filters].some((f) => f !== 0), "a smooth image gets predicting filters");
        }
      }
    }
  });

  it("optimizePng: same pixels, opaque alpha dropped, transparency kept, never larger", () => {
    const [w, h] = [40, 30];
    const rgb = randomPixels(w * h * 3, 3, true);
    const rgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      rgba[4 * p + 3] = 255;
    }
    const original = handPng(rgba, w, h, 4, [0], 6);
    const opt = optimizePng(original);
    assert.ok(opt.length < original.length, `${opt.length} < ${original.length} bytes`);
    const d = decodePng(opt);
    assert.equal(d.channels, 3, "an opaque alpha channel is dropped");
    assert.deepEqual(Array.from(d.pixels), Array.from(rgb));

    rgba[3] = 0; // one transparent pixel: alpha stays
    const withAlpha = decodePng(optimizePng(handPng(rgba, w, h, 4, [0], 6)));
    assert.equal(withAlpha.channels, 4);
    assert.deepEqual(Array.from(withAlpha.pixels), Array.from(rgba));

    const best = encodePng(rgb, w, h, 3);
    const again = optimizePng(best);
    assert.ok(again.length <= best.length, "never larger than its input");
    assert.deepEqual(Array.from(decodePng(again).pixels), Array.from(rgb));
  });

  it("bad PNG bytes get errors that name what is wrong", () => {
    assert.throws(() => decodePng(Buffer.from("not a png")), /decodePng: png .* PNG signature/);
    const good = encodePng(new Uint8Array(12), 2, 2, 3);
    const badCrc = Buffer.from(good);
    badCrc[good.length - 13] ^= 1; // a byte of IDAT
    assert.throws(() => decodePng(badCrc), /chunk IDAT CRC/);
    const deep = Buffer.from(good);
    deep[24] = 16; // bit depth 16 (CRC fixed below)
    deep.writeUInt32BE(crc32(deep.subarray(12, 29)), 29);
    assert.throws(() => decodePng(deep), /bit depth.*16.*8/);
    assert.throws(() => decodePng(good.subarray(0, 40)), /chunk IDAT|IHDR first and IEND last/);
  });
});
