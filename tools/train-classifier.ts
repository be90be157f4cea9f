/**
 * Trains the small CNN classifier of the image metrics (lib/metrics/images.ts) and commits it:
 *
 *   npx ts-node --transpile-only tools/train-classifier.ts --dataset mnist|fashion-mnist [--epochs 3] [--seed 0]
 *        [--lr 1e-3,1e-3,3e-4] [--shift 0] [--channels 32,64] [--pool max|avg] [--hidden 128]
 *        [--out data/pretrained/classifier-<dataset>/model.safetensors] [--init FILE]
 *
 * --lr: comma-separated rates per epoch (the last repeats); --shift: random translations of up to that many pixels
 * (lib/metrics/images randomShift); --channels/--pool/--hidden: the network of a new classifier.
 * --init continues from a saved classifier (more epochs, e.g. at a lower --lr); the record then lists every stage.
 *
 * The committed classifiers (data/pretrained/classifier-<dataset>/training.json holds each one's command line):
 *   --dataset mnist --epochs 15 --shift 2 --lr 1e-3,1e-3,1e-3,1e-3,1e-3,1e-3,1e-3,1e-3,3e-4,3e-4,3e-4,3e-4,1e-4,1e-4,1e-4
 *   --dataset fashion-mnist --epochs 10 --shift 2 --lr 1e-3,1e-3,1e-3,1e-3,1e-3,3e-4,3e-4,3e-4,1e-4,1e-4
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
import { CLASSIFIER_POOLS, ImageClassifier, classifierAccuracy, trainClassifier, type ClassifierPool } from "../lib/metrics/images";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let dataset: ImageDatasetName = "mnist";
  let epochs = 3;
  let seed = 0;
  let out = "";
  let init = "";
  let lr: number[] | undefined;
  let shift = 0;
  let channels: number[] | undefined;
  let pool: ClassifierPool | undefined;
  let hidden: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--dataset" && (IMAGE_DATASETS as readonly string[]).includes(v)) dataset = v as ImageDatasetName;
    else if (k === "--epochs" && Number.isInteger(Number(v))) epochs = Number(v);
    else if (k === "--seed" && Number.isInteger(Number(v))) seed = Number(v);
    else if (k === "--out" && v) out = v;
    else if (k === "--init" && v) init = v;
    else if (k === "--lr" && v && v.split(",").every((x) => Number(x) > 0)) lr = v.split(",").map(Number);
    else if (k === "--shift" && Number.isInteger(Number(v)) && Number(v) >= 0) shift = Number(v);
    else if (k === "--channels" && v && v.split(",").every((x) => Number.isInteger(Number(x)) && Number(x) > 0)) channels = v.split(",").map(Number);
    else if (k === "--pool" && (CLASSIFIER_POOLS as readonly string[]).includes(v)) pool = v as ClassifierPool;
    else if (k === "--hidden" && Number.isInteger(Number(v)) && Number(v) > 0) hidden = Number(v);
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
  if (init && (channels || pool || hidden)) throw new Error("--channels/--pool/--hidden describe a new classifier; --init continues one with its own config");
  const clf = init ? ImageClassifier.load(init).classifier : new ImageClassifier({ imageSize: 28, imageChannels: 1, classes: 10, seed, channels, pool, hidden });
  const t0 = Date.now();
  trainClassifier(clf, {
    images: xs,
    labels: train.labels,
    epochs,
    seed,
    lr,
    shift,
    onLog: (l) => console.error(`epoch ${l.epoch + 1}/${epochs} step ${l.step}: loss ${l.loss.toFixed(4)}, train accuracy ${(100 * l.accuracy).toFixed(2)} %, ${((Date.now() - t0) / 1000).toFixed(0)} s`),
  });
  const seconds = (Date.now() - t0) / 1000;
  const accuracy = classifierAccuracy(clf, xt, test.labels);
  const accuracy1000 = classifierAccuracy(clf, xt.subarray(0, 1000 * 784), test.labels.subarray(0, 1000));
  const record = {
    dataset,
    epochs,
    seed,
    command: `tools/train-classifier.ts ${argv.join(" ")}`,
    lr: lr ?? "default [1e-3, 1e-3, 3e-4]",
    shift,
    init: init || undefined,
    previousStages: previous.length ? previous : undefined,
    config: clf.config,
    testAccuracy: accuracy,
    testAccuracyFirst1000: accuracy1000,
    trainSeconds: seconds,
    secondsPerEpoch: seconds / epochs,
    backend: info.name,
    threads: info.native?.threads ?? info.threads ?? 1,
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
