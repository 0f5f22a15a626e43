export * from "./harness";
export * from "./test-clock";
export * from "./smtp-sink";
