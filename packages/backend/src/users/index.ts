export * from "./users.repository";
export * from "./card-view";
