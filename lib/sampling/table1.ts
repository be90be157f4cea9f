/**
 * The sampler settings behind the paper's Table 1 (CIFAR-10 FID of PC samplers; Song et al. 2021) and the snr values
 * of its Table 5, so that a notebook can rebuild the table's grid by name:
 *   columns  P1000: predictor only, N = 1000;  P2000: predictor only on an SDE with N = 2000;
 *            C2000: corrector only ("none" predictor), 2 Langevin steps per noise scale, N = 1000;
 *            PC1000: predictor + 1 Langevin step per scale, N = 1000;
 *   rows     "ancestral sampling", "reverse diffusion", "probability flow" (= reverse_diffusion on the
 *            probability-flow ODE, as the official code). C2000 does not depend on the row.
 * The paper's P2000 interpolated the 1000 trained noise scales linearly; with a continuous-time (or exact) score the
 * SDE with N = 2000 is the direct equivalent.
 */
import { fail } from "../validate";

export type Table1Column = "P1000" | "P2000" | "C2000" | "PC1000";
export type Table1Row = "ancestral sampling" | "reverse diffusion" | "probability flow";

export interface Table1Settings {
  /** Discretisation steps: build the SDE with this N. */
  N: number;
  predictor: string;
  corrector: string;
  snr: number;
  nSteps: number;
  probabilityFlow: boolean;
}

/** Table 5 best snr r (grid step 0.01): C2000 per SDE, PC1000 per SDE and predictor. */
const SNR_C2000 = { VE: 0.22, VP: 0.27 } as const;
const SNR_PC1000 = {
  VE: { "ancestral sampling": 0.17, "reverse diffusion": 0.16, "probability flow": 0.17 },
  VP: { "ancestral sampling": 0.01, "reverse diffusion": 0.01, "probability flow": 0.04 },
} as const;

const COLUMNS: readonly Table1Column[] = ["P1000", "P2000", "C2000", "PC1000"];
const ROWS: readonly Table1Row[] = ["ancestral sampling", "reverse diffusion", "probability flow"];

/** The pcSample settings of one cell of Table 1 for the VE (SMLD) or VP (DDPM) SDE. */
export function table1Settings(column: Table1Column, row: Table1Row, sde: "VE" | "VP"): Table1Settings {
  const where = "table1Settings";
  if (!COLUMNS.includes(column)) fail(where, "column", column, `one of ${COLUMNS.map((c) => JSON.stringify(c)).join(", ")}`);
  if (!ROWS.includes(row)) fail(where, "row", row, `one of ${ROWS.map((r) => JSON.stringify(r)).join(", ")}`);
  if (sde !== "VE" && sde !== "VP") fail(where, "sde", sde, '"VE" or "VP" (Table 1 has no sub-VP column)');
  const predictor = row === "ancestral sampling" ? "ancestral_sampling" : "reverse_diffusion";
  const probabilityFlow = row === "probability flow";
  switch (column) {
    case "P1000":
    case "P2000":
      return { N: column === "P1000" ? 1000 : 2000, predictor, corrector: "none", snr: 0, nSteps: 1, probabilityFlow };
    case "C2000":
      return { N: 1000, predictor: "none", corrector: "langevin", snr: SNR_C2000[sde], nSteps: 2, probabilityFlow: false };
    case "PC1000":
      return { N: 1000, predictor, corrector: "langevin", snr: SNR_PC1000[sde][row], nSteps: 1, probabilityFlow };
  }
}

/** The table's columns and rows, in the paper's order. */
export const TABLE1_COLUMNS: readonly Table1Column[] = COLUMNS;
export const TABLE1_ROWS: readonly Table1Row[] = ROWS;
