/**
 * Network weights to and from safetensors with PyTorch-style names and layouts, so a PyTorch user can load them
 * (`safetensors.torch.load_file`) into an NCHW re-implementation. The mapping, applied to each logical name and
 * value of `net.stateVariables`:
 *
 * | here                                   | safetensors                                 |
 * |----------------------------------------|---------------------------------------------|
 * | `/` between name parts                 | `.`  (unet/down0.res0/conv0/kernel → unet.down0.res0.conv0.weight) |
 * | `…/kernel` of a conv, [kh, kw, in, out] (HWIO) | `….weight`, [out, in, kh, kw] (OIHW, torch.nn.Conv2d) |
 * | `…/kernel` of a dense layer, [in, out] | `….weight`, [out, in] (torch.nn.Linear; also the 1×1 `skip` of a residual block) |
 * | `…/bias`                               | `….bias` (unchanged)                         |
 * | GroupNorm `…/gamma`, `…/beta`          | `….weight`, `….bias` (torch.nn.GroupNorm)    |
 * | anything else (e.g. Fourier frequencies `…/W`) | same name with `.`, values unchanged |
 *
 * The architecture (`net.getConfig()`) is stored as JSON in the metadata under "config", with "layout":
 * "pytorch-nchw" and "source": "score-sde-ts". `importSafetensors` applies the inverse mapping.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../io/atomic";
import { encodeSafetensors, readSafetensors, type NamedTensor } from "../io/safetensors";
import type { ScoreNetwork } from "./network";
import { setWeights, type NamedWeight } from "./weights";

function transpose(values: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const t = tf.tensor(values, shape, "float32");
  const p = t.transpose(perm);
  const out = { data: p.dataSync().slice() as Float32Array, shape: p.shape.slice() };
  tf.dispose([t, p]);
  return out;
}

/** PyTorch-style name and layout of one weight (see the module comment). */
export function toTorchStyle(name: string, shape: number[], values: Float32Array): NamedTensor {
  const parts = name.split("/");
  const last = parts[parts.length - 1];
  const base = parts.slice(0, -1).join(".");
  if (last === "kernel" && shape.length === 4) return { name: `${base}.weight`, ...transpose(values, shape, [3, 2, 0, 1]) };
  if (last === "kernel" && shape.length === 2) return { name: `${base}.weight`, ...transpose(values, shape, [1, 0]) };
  if (last === "gamma") return { name: `${base}.weight`, shape: shape.slice(), data: values.slice() };
  if (last === "beta") return { name: `${base}.bias`, shape: shape.slice(), data: values.slice() };
  return { name: parts.join("."), shape: shape.slice(), data: values.slice() };
}

/** Safetensors bytes of the network's state, PyTorch-style, with the architecture and `metadata`. */
export function encodeNetworkSafetensors(net: ScoreNetwork, metadata: Record<string, string> = {}): Buffer {
  const tensors = net.stateVariables.map(({ name, variable }) => toTorchStyle(name, variable.shape.slice(), variable.dataSync() as Float32Array));
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`encodeNetworkSafetensors: two weights map to the name ${t.name}`);
    names.add(t.name);
  }
  return encodeSafetensors(tensors, { source: "score-sde-ts", layout: "pytorch-nchw", config: JSON.stringify(net.getConfig()), ...metadata });
}

export function exportSafetensors(net: ScoreNetwork, file: string, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeNetworkSafetensors(net, metadata));
}

/** Loads a file written by `exportSafetensors` into `net` (inverse mapping; names and shapes are checked). */
export function importSafetensors(net: ScoreNetwork, file: string): Record<string, string> {
  const { tensors, metadata } = readSafetensors(file);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const weights: NamedWeight[] = net.stateVariables.map(({ name, variable }) => {
    const want = toTorchStyle(name, variable.shape.slice(), new Float32Array(variable.size));
    const t = byName.get(want.name);
    if (!t) throw new Error(`${file}: no tensor ${want.name} (for ${name}); written for another architecture?`);
    if (t.shape.join(",") !== want.shape.join(",")) throw new Error(`${file}: tensor ${want.name} has shape [${t.shape}], expected [${want.shape}]`);
    const shape = variable.shape.slice();
    let values = t.data;
    if (shape.length === 4 && name.endsWith("/kernel")) values = transpose(t.data, t.shape, [2, 3, 1, 0]).data;
    else if (shape.length === 2 && name.endsWith("/kernel")) values = transpose(t.data, t.shape, [1, 0]).data;
    return { name, shape, values };
  });
  setWeights(net, weights);
  return metadata;
}
