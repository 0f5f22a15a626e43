export * from "./incoming-event";
export * from "./ingest-coalescer";
export * from "./ingest-events";
