/**
 * The experiments behind notebooks 03–05 and `npm run ablations` / `npm run train-toy`: the paper's ablations on toy
 * data (Song et al. 2021, Tables 1, 2 and 5, Fig. 3, App. D.5) and the toy acceptance run. They live here, beside the
 * notebooks, and not in lib/, because they hold what is particular to this project's runs: the result files under
 * data/results/ and their caching, the quick and full run sizes, and the paper's reported numbers. They use only the
 * library's public modules (through the notebooks/lib link, so that tslab compiles them).
 */
export * from "./format";
export * from "./results";
export * from "./pc";
export * from "./pcExperiments";
export * from "./models";
export * from "./flowExperiments";
export * from "./scoreError";
export * from "./toy-run";
