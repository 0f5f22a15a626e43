export * from "./incoming-event";
export * from "./ingest-events";
