// Lint rules that catch real defects; formatting is left to the editor.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { createNodeResolver, importX } from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", ".data/**", "examples/**/vendor/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
    },
    rules: {
      // Import cycles between modules make start-up order fragile; forbid them.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "off",
    },
  },
  {
    files: ["packages/core/src/**/*.ts"],
    rules: {
      // The rule engine is pure: the clock is an argument, I/O libraries are off-limits.
      "no-restricted-imports": ["error", { patterns: ["pg", "kysely", "ioredis", "bullmq", "fastify", "nodemailer", "node:fs", "node:net", "@nurture/db", "@nurture/jobs"] }],
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "Pass `now` in; the core has no clock." }],
    },
  },
);
