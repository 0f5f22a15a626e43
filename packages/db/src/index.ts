export * from "./schema";
export * from "./database";
export * from "./migrator";
export { prepared, PREPARED_MAX_ROWS } from "./prepared-statements";
