/** File input/output: atomic writes, JSON with errors that name the file, NumPy `.npy` arrays. */
export * from "./atomic";
export * from "./npy";
export * from "./png";
export * from "./safetensors";
