/** The toys by name, so a notebook or benchmark can sweep over them from a table. */
import { checkOneOf } from "../validate";
import { anisotropicMixture, eightGaussians, gridGaussians } from "./presets";
import { checkerboard, concentricRings, pinwheel, swissRoll, twoMoons } from "./samplers";
import type { ToyDistribution } from "./types";

export const TOY_NAMES = [
  "eightGaussians",
  "gridGaussians",
  "anisotropicMixture",
  "twoMoons",
  "swissRoll",
  "checkerboard",
  "rings",
  "pinwheel",
] as const;
export type ToyName = (typeof TOY_NAMES)[number];

/** A toy with its default options. The first three are `GaussianMixture`s (exact density and score). */
export function toyDistribution(name: ToyName): ToyDistribution {
  switch (checkOneOf("toyDistribution", "name", name, TOY_NAMES)) {
    case "eightGaussians":
      return eightGaussians();
    case "gridGaussians":
      return gridGaussians();
    case "anisotropicMixture":
      return anisotropicMixture();
    case "twoMoons":
      return twoMoons();
    case "swissRoll":
      return swissRoll();
    case "checkerboard":
      return checkerboard();
    case "rings":
      return concentricRings();
    case "pinwheel":
      return pinwheel();
  }
}
