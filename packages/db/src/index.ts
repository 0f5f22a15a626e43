export * from "./schema";
export * from "./database";
export * from "./migrator";
export { prepared } from "./prepared-statements";
export { together, type RowOf, type Statement } from "./pipelined-transactions";
