/** Figures (pure plotly JSON builders), notebook display, static rendering and the quick/full run mode. */
export * from "./figure";
export { show, showTable, showMarkdown, figureBundle, tableBundle, displayBundle, PLOTLY_MIME } from "./display";
export type { DisplayBundle, ShowOptions, TableLike } from "./display";
export { FigureRenderer, RendererUnavailable, chromiumPath, sharedRenderer, closeSharedRenderer, rendererIdleSeconds, CHROMIUM_FLAGS } from "./render";
export type { ImageFormat, RenderSize } from "./render";
export { isQuick, quickOr, inKernel } from "./notebook";
