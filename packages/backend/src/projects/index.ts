export * from "./projects.repository";
export { hashSecretKey } from "./project-keys";
export { forProjectConfig } from "./project-config-cache";
