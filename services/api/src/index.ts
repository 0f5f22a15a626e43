export { buildApp } from "./app";
export type { AppDeps, AppOptions } from "./app-deps";
