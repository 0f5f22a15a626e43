export { TEMPLATE_LIMITS, type TemplateEscaping } from "./liquid-engine";
export * from "./template";
