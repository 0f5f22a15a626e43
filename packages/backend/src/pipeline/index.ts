export * from "./pipeline.types";
export * from "./process-user";
export * from "./scheduling";
export * from "./sweeper";
export { loadCard, type CardSectionLoader } from "./card-loader";
export * from "./pipeline-notifier";
