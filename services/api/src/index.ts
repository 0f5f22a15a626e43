export { buildApp } from "./app";
export type { AppDeps } from "./app-deps";
