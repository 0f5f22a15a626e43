export * from "./errors";
export * from "./projects";
export * from "./ingest";
export * from "./users";
export * from "./pipeline";
