export * from "./condition.types";
export * from "./condition.schema";
export { readPath, splitPropertyPath, parseIsoDate, propertyInstant, utcDayKey, epochDay, dayKeyOfEpochDay, windowBounds, DAY_MS } from "./condition-values";
export * from "./counter-key";
export * from "./condition-analysis";
export { eventMatchesFilter, compileEventFilter } from "./leaf-checks";
export { evaluateCondition, evaluateConditionTimed, nextChangeAt, emailKnown, compiledCondition, type CompiledCondition, type TimedAnswer } from "./condition-evaluator";
export * from "./condition-explainer";
export * from "./counter-maintenance";
