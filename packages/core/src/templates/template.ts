import type { Template } from "liquidjs";
import { liquidEngine, TEMPLATE_LIMITS, type TemplateEscaping } from "./liquid-engine";

export interface TemplateProblem {
  /** 1-based; 0 when the problem is not tied to a place (too long). */
  line: number;
  column: number;
  message: string;
}

export interface CompiledTemplate {
  source: string;
  escaping: TemplateEscaping;
  parsed: Template[];
}

export type TemplateCheck = { ok: true; template: CompiledTemplate } | { ok: false; problem: TemplateProblem };

interface LiquidErrorShape {
  message: string;
  originalError?: Error;
  token?: { getPosition?: () => [number, number] };
}

function describe(err: unknown): TemplateProblem {
  const e = err as LiquidErrorShape;
  const [line, column] = e.token?.getPosition?.() ?? [0, 0];
  // liquidjs appends ", line:X, col:Y" to its messages; the position is reported separately.
  const message = (e.originalError?.message ?? e.message ?? String(err)).split("\n")[0]!.replace(/, line:\d+, col:\d+$/, "");
  return { line, column, message };
}

/** Parses a template once (when a campaign is saved); a broken one is reported with its line and column. */
export function compileTemplate(source: string, escaping: TemplateEscaping = "none"): TemplateCheck {
  if (source.length > TEMPLATE_LIMITS.maxLength) {
    return { ok: false, problem: { line: 0, column: 0, message: `template is longer than ${TEMPLATE_LIMITS.maxLength} characters` } };
  }
  try {
    return { ok: true, template: { source, escaping, parsed: liquidEngine(escaping).parse(source) } };
  } catch (err) {
    return { ok: false, problem: describe(err) };
  }
}

export function formatTemplateProblem(problem: TemplateProblem): string {
  return problem.line > 0 ? `line ${problem.line}, column ${problem.column}: ${problem.message}` : problem.message;
}

export class TemplateRenderError extends Error {
  constructor(readonly problem: TemplateProblem) {
    super(`template failed to render: ${formatTemplateProblem(problem)}`);
    this.name = "TemplateRenderError";
  }
}

/**
 * Renders with plain data: values (trait text included) are written out, never parsed as Liquid,
 * and only own properties of the data are reachable.
 */
export async function renderTemplate(template: CompiledTemplate, data: Record<string, unknown>): Promise<string> {
  try {
    return await liquidEngine(template.escaping).render(template.parsed, data, { templateLimit: TEMPLATE_LIMITS.maxRenders });
  } catch (err) {
    throw new TemplateRenderError(describe(err));
  }
}
