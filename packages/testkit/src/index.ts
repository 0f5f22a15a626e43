export * from "./harness";
export * from "./test-clock";
