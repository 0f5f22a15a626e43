import { Liquid, type FS } from "liquidjs";

/**
 * Limits that keep one template cheap and harmless: a marketer's typo or a hostile template can
 * neither read files nor hold a worker for long.
 */
export const TEMPLATE_LIMITS = {
  /** Characters of one template. */
  maxLength: 100_000,
  /** Milliseconds of one render. */
  renderMs: 250,
  /** Tags/outputs rendered in one render (loops count each pass). */
  maxRenders: 20_000,
  /** Rough bytes liquidjs may allocate in filters and ranges. */
  memory: 10_000_000,
} as const;

const noFileSystem = (): never => {
  throw new Error("templates cannot read files");
};

/** Every file-system entry point of liquidjs refuses, so no option or tag can reach the disk. */
const closedFs: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => noFileSystem(),
  readFileSync: () => noFileSystem(),
  resolve: (_dir, file) => file,
  contains: async () => false,
  containsSync: () => false,
};

/** Tags that pull in other templates: refused when the template is parsed, with their position. */
const FILE_TAGS = ["include", "render", "layout", "block"] as const;

export type TemplateEscaping = "html" | "none";

function createEngine(escaping: TemplateEscaping): Liquid {
  const liquid = new Liquid({
    fs: closedFs,
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables: false,
    jsTruthy: false,
    cache: false,
    timezoneOffset: 0,
    parseLimit: TEMPLATE_LIMITS.maxLength,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
    ...(escaping === "html" ? { outputEscape: "escape" as const } : {}),
  });
  for (const name of FILE_TAGS) {
    liquid.registerTag(name, {
      parse() {
        throw new Error(`the {% ${name} %} tag is not available: templates cannot include other files`);
      },
      render() {
        return "";
      },
    });
  }
  return liquid;
}

const engines: Record<TemplateEscaping, Liquid> = { html: createEngine("html"), none: createEngine("none") };

/** The shared, sandboxed engine; HTML bodies escape every output unless the author writes `| raw`. */
export function liquidEngine(escaping: TemplateEscaping): Liquid {
  return engines[escaping];
}
