/**
 * Inpainting masks by region name, for any image size (the masks of the paper's inpainting figures, Song et al. 2021
 * Fig. 4 / App. I.2, and of the official `get_pc_inpainter` demos: a missing half or a missing centre square).
 *
 * Convention of `pcInpaint`: 1 = known, 0 = to fill in. The region names the part that is MISSING:
 *   bottom  rows ⌊H/2⌋ … H−1            top     rows 0 … ⌈H/2⌉−1
 *   right   columns ⌊W/2⌋ … W−1         left    columns 0 … ⌈W/2⌉−1
 *   center  the centred ⌈H/2⌉ × ⌈W/2⌉ box, rows ⌊H/4⌋ … ⌊H/4⌋+⌈H/2⌉−1 (columns likewise)
 * so for even sizes the halves are exact halves (28×28: 14 rows / columns; centre rows and columns 7 … 20).
 */
import * as tf from "@tensorflow/tfjs";
import { checkPositiveInt, fail } from "../validate";

export const INPAINT_REGIONS = ["bottom", "top", "left", "right", "center"] as const;
export type InpaintRegion = (typeof INPAINT_REGIONS)[number];

/** Whether pixel (row y, column x) of an H×W image lies in the missing `region` (see the module doc). */
function missing(region: InpaintRegion, y: number, x: number, H: number, W: number): boolean {
  switch (region) {
    case "bottom": return y >= Math.floor(H / 2);
    case "top": return y < Math.ceil(H / 2);
    case "right": return x >= Math.floor(W / 2);
    case "left": return x < Math.ceil(W / 2);
    case "center": {
      const y0 = Math.floor(H / 4);
      const x0 = Math.floor(W / 4);
      return y >= y0 && y < y0 + Math.ceil(H / 2) && x >= x0 && x < x0 + Math.ceil(W / 2);
    }
  }
}

/**
 * The mask of one H×W×C image (HWC, C order) as host values: 1 = known, 0 = the missing `region`, equal over the
 * channels. H, W ≥ 2 so that every region leaves something known and something to fill in.
 */
export function regionMaskValues(region: InpaintRegion, height: number, width: number, channels = 1): Float32Array {
  const where = "regionMask";
  if (!(INPAINT_REGIONS as readonly string[]).includes(region)) fail(where, "region", region, `one of ${INPAINT_REGIONS.join(", ")} (the part to fill in)`);
  for (const [k, v] of [["height", height], ["width", width]] as const) {
    checkPositiveInt(where, k, v);
    if (v < 2) fail(where, k, v, "an integer ≥ 2 (a half must leave something known)");
  }
  checkPositiveInt(where, "channels", channels);
  const out = new Float32Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = missing(region, y, x, height, width) ? 0 : 1;
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = v;
    }
  }
  return out;
}

/** `regionMaskValues` as a tf.Tensor3D [H, W, C]: the one-example mask `pcInpaint` shares over a batch. */
export function regionMask(region: InpaintRegion, height: number, width: number, channels = 1): tf.Tensor3D {
  return tf.tensor3d(regionMaskValues(region, height, width, channels), [height, width, channels]);
}
