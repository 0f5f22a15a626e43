export * from "./errors";
export * from "./projects";
export * from "./ingest";
export * from "./users";
export * from "./pipeline";
export * from "./scoring";
export * from "./segments";
export * from "./messaging";
