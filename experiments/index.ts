/** Experiment runners for the paper's ablations on toy data (notebooks 03–05, tools/ablations.ts). */
export * from "./stats";
export * from "./hostScore";
export * from "./results";
export * from "./pc";
export * from "./pcExperiments";
export * from "./models";
export * from "./flowExperiments";
export * from "./scoreError";
