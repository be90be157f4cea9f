/**
 * Trains the small CNN classifier of the image metrics (lib/metrics/images.ts) and commits it:
 *
 *   npx ts-node --transpile-only tools/train-classifier.ts --dataset mnist|fashion-mnist [--epochs 3] [--seed 0]
 *        [--out data/pretrained/classifier-<dataset>/model.safetensors] [--init FILE --lr 3e-4,1e-4]
 *
 * --init continues from a saved classifier (more epochs, e.g. at a lower --lr: comma-separated rates per epoch);
 * the record then lists every stage.
 *
 * Reports the accuracy on the whole test set and on its first 1000 images (the test checks the latter) and stores
 * both, with the training record, in the safetensors metadata and in training.json beside it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { IMAGE_DATASETS, loadImageDataset, type ImageDatasetName } from "../lib/data/images";
import { datasetTensor } from "../lib/data/dataset";
import { readJsonFile, writeJsonAtomic } from "../lib/io";
import { ImageClassifier, classifierAccuracy, trainClassifier } from "../lib/metrics/images";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let dataset: ImageDatasetName = "mnist";
  let epochs = 3;
  let seed = 0;
  let out = "";
  let init = "";
  let lr: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--dataset" && (IMAGE_DATASETS as readonly string[]).includes(v)) dataset = v as ImageDatasetName;
    else if (k === "--epochs" && Number.isInteger(Number(v))) epochs = Number(v);
    else if (k === "--seed" && Number.isInteger(Number(v))) seed = Number(v);
    else if (k === "--out" && v) out = v;
    else if (k === "--init" && v) init = v;
    else if (k === "--lr" && v && v.split(",").every((x) => Number(x) > 0)) lr = v.split(",").map(Number);
    else throw new Error(`bad argument ${k} ${v ?? ""} (see the header of tools/train-classifier.ts)`);
    i++;
  }
  out ||= path.join(__dirname, "..", "data", "pretrained", `classifier-${dataset}`, "model.safetensors");
  const info = await initBackend();
  const train = loadImageDataset(dataset, "train");
  const test = loadImageDataset(dataset, "test");
  const toHost = (d: typeof train) => {
    const t = datasetTensor(d);
    const a = t.dataSync() as Float32Array;
    t.dispose();
    return a;
  };
  const xs = toHost(train);
  const xt = toHost(test);
  const prevRecordFile = init ? path.join(path.dirname(init), "training.json") : "";
  const previous = prevRecordFile && fs.existsSync(prevRecordFile) ? [readJsonFile(prevRecordFile, "classifier training record")] : [];
  const clf = init ? ImageClassifier.load(init).classifier : new ImageClassifier({ imageSize: 28, imageChannels: 1, classes: 10, seed });
  const t0 = Date.now();
  trainClassifier(clf, {
    images: xs,
    labels: train.labels,
    epochs,
    seed,
    lr,
    onLog: (l) => console.error(`epoch ${l.epoch + 1}/${epochs} step ${l.step}: loss ${l.loss.toFixed(4)}, train accuracy ${(100 * l.accuracy).toFixed(2)} %, ${((Date.now() - t0) / 1000).toFixed(0)} s`),
  });
  const seconds = (Date.now() - t0) / 1000;
  const accuracy = classifierAccuracy(clf, xt, test.labels);
  const accuracy1000 = classifierAccuracy(clf, xt.subarray(0, 1000 * 784), test.labels.subarray(0, 1000));
  const record = {
    dataset,
    epochs,
    seed,
    lr: lr ?? "default [1e-3, 1e-3, 3e-4]",
    init: init || undefined,
    previousStages: previous.length ? previous : undefined,
    config: clf.config,
    testAccuracy: accuracy,
    testAccuracyFirst1000: accuracy1000,
    trainSeconds: seconds,
    backend: info.name,
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    date: new Date().toISOString(),
  };
  clf.save(out, { dataset, testAccuracy: String(accuracy), testAccuracyFirst1000: String(accuracy1000), epochs: String(epochs) });
  writeJsonAtomic(path.join(path.dirname(out), "training.json"), record);
  console.error(`${dataset}: test accuracy ${(100 * accuracy).toFixed(2)} % (first 1000: ${(100 * accuracy1000).toFixed(2)} %), ${seconds.toFixed(0)} s; wrote ${out}`);
  clf.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
