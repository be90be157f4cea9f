/**
 * CIFAR-10 (Krizhevsky 2009) in its binary distribution (cifar-10-batches-bin/, for users who have it on disk; the
 * data is not on npm). Each file is a run of 3073-byte records: one label byte (0–9), then the 32×32 red, green
 * and blue planes (1024 bytes each, row-major). Training = data_batch_1.bin … data_batch_5.bin (50 000 images),
 * test = test_batch.bin (10 000). Images are returned NHWC like every dataset here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOneOf, fail } from "../validate";
import { checkImageDataset, type ImageDataset } from "./dataset";

export const CIFAR10_CLASSES: readonly string[] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

/** Parses the records of one CIFAR-10 binary file held in `buf`; `where` (its path) names it in errors. */
export function parseCifar10(buf: Uint8Array, where: string): { images: Uint8Array; labels: Uint8Array; n: number } {
  if (buf.length === 0 || buf.length % RECORD !== 0) {
    throw new Error(`${where}: ${buf.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records (truncated, or not the binary version: cifar-10-batches-bin)`);
  }
  const n = buf.length / RECORD;
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * RECORD;
    const label = buf[r];
    if (label > 9) throw new Error(`${where}: record ${i} has label ${label}, not a class 0–9 (not a CIFAR-10 binary file, or corrupt)`);
    labels[i] = label;
    const out = i * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      images[out + 3 * p] = buf[r + 1 + p];
      images[out + 3 * p + 1] = buf[r + 1 + PLANE + p];
      images[out + 3 * p + 2] = buf[r + 1 + 2 * PLANE + p];
    }
  }
  return { images, labels, n };
}

export interface Cifar10Options {
  split: "train" | "test";
  /** The cifar-10-batches-bin folder. */
  dir: string;
  /** Files to read instead of the standard ones (e.g. one batch for a quick look). */
  files?: string[];
}

export function loadCifar10(o: Cifar10Options): ImageDataset {
  if (!o || typeof o !== "object") fail("loadCifar10", "options", o, "{ split, dir }");
  const split = checkOneOf("loadCifar10", "split", o.split, ["train", "test"]);
  if (typeof o.dir !== "string" || o.dir === "") fail("loadCifar10", "dir", o.dir, "the cifar-10-batches-bin folder");
  const files = o.files ?? (split === "train" ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ["test_batch.bin"]);
  const parts = files.map((f) => {
    const file = path.join(o.dir, f);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${file}: cannot read the CIFAR-10 file (${code ?? (e as Error).message})${code === "ENOENT" ? ": it does not exist (expected the binary version, cifar-10-batches-bin)" : ""}`);
    }
    return parseCifar10(buf, file);
  });
  const n = parts.reduce((a, p) => a + p.n, 0);
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Uint8Array(n);
  let k = 0;
  for (const p of parts) {
    images.set(p.images, k * 3 * PLANE);
    labels.set(p.labels, k);
    k += p.n;
  }
  return checkImageDataset({ name: "cifar10", split, n, height: SIDE, width: SIDE, channels: 3, images, labels, classNames: CIFAR10_CLASSES }, "loadCifar10");
}
