export * from "./job-catalog";
export * from "./queues";
