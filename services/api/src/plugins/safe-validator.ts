import { AppError } from "@nurture/backend";
import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler } from "fastify-type-provider-zod";

/**
 * zod's validator compiler, except that a validator which throws instead of reporting (zod 4's
 * length checks call `>=` on whatever `.length` holds, so `{"event":{"length":{"valueOf":1}}}`
 * throws "Cannot convert object to primitive value") answers 400 rather than 500: input that
 * cannot even be validated is invalid input.
 */
export const safeValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  return (data: unknown) => {
    try {
      return validate(data);
    } catch {
      const part = route.httpPart ?? "request";
      return { error: new AppError("validation_failed", `Invalid request: ${part}: has a shape that cannot be validated`, [{ path: part, message: "has a shape that cannot be validated" }]) };
    }
  };
};
