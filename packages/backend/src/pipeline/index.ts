export * from "./pipeline.types";
export * from "./process-user";
export * from "./scheduling";
export * from "./sweeper";
export { loadCard } from "./card-loader";
export * from "./pipeline-notifier";
