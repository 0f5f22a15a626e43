export * from "./projects.repository";
export { hashSecretKey } from "./project-keys";
