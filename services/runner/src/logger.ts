import { pino, type Logger } from "pino";

/** JSON logs; secrets and personal data never reach them. */
export function createLogger(level: string, service: string): Logger {
  return pino({
    level,
    base: { service },
    redact: {
      paths: [
        "req.headers.authorization",
        "headers.authorization",
        "*.secretKey",
        "*.writeKey",
        "*.password",
        "*.email",
        "*.properties.email",
        "*.traits.email",
      ],
      censor: "[redacted]",
    },
  });
}
