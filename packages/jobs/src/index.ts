export * from "./job-catalog";
export * from "./queues";
export * from "./inbox-signals";
