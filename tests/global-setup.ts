import { dropStaleTestSchemas } from "@nurture/db/testing";

// Leftovers of crashed runs only; a schema in use by a concurrent run is younger than an hour.
export default async function setup(): Promise<void> {
  await dropStaleTestSchemas(3600);
}
