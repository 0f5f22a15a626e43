export { configSchema, loadConfig, ConfigError, type Config } from "./config";
