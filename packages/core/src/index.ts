export * from "./json-safety";
export * from "./property-ops";
export * from "./card-merge";
export * from "./clock-skew";
export * from "./user-card";
export * from "./identity-plan";
