export { buildTrackerBundle, loadTrackerBundle, TRACKER_VERSION, type TrackerBundle } from "./tracker-bundle";
export { trackerSnippet, TRACKER_SNIPPET_TEMPLATE, type SnippetOptions } from "./tracker-snippet";
