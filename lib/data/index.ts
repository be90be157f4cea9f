/** Image data: MNIST / Fashion-MNIST / CIFAR-10 loaders, the data scaler, shuffling and batching, dequantisation. */
export * from "./dataset";
export * from "./idx";
export * from "./mnist";
export * from "./fashion-mnist";
export * from "./cifar10";
export * from "./images";
export * from "./config";
export * from "./dequantize";
export * from "./score-model";
export * from "./sigma-max";
