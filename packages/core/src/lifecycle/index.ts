export * from "./lifecycle-settings";
export * from "./lifecycle-stage";
