import type { ScoringLimit } from "./scoring-rule";

export interface DefaultScoringRule {
  /** Stable key: loading the defaults twice creates each rule once. */
  preset: string;
  name: string;
  event: string;
  points: number;
  limit: ScoringLimit;
}

/**
 * The default lead-scoring set (the classic "interest" ladder): the closer an action is to paying,
 * the more it is worth. Event names are the ones the tracker and messaging emit ($page, $email_opened,
 * $unsubscribed) plus conventional names a site tracks itself. Limits keep routine actions from
 * inflating the score: a visit counts once per day, a one-off milestone once per user.
 */
export const DEFAULT_SCORING_RULES: readonly DefaultScoringRule[] = [
  { preset: "visited_site", name: "Visited the site", event: "$page", points: 1, limit: { type: "once_per_day" } },
  { preset: "read_email", name: "Read an email", event: "$email_opened", points: 5, limit: { type: "none" } },
  { preset: "downloaded_guide", name: "Downloaded a guide", event: "guide_downloaded", points: 10, limit: { type: "none" } },
  { preset: "finished_trial", name: "Finished a trial", event: "trial_finished", points: 20, limit: { type: "once_per_user" } },
  { preset: "viewed_paid_features", name: "Viewed paid features", event: "paid_features_viewed", points: 30, limit: { type: "once_per_day" } },
  { preset: "viewed_payment_form", name: "Viewed the payment form", event: "payment_form_viewed", points: 40, limit: { type: "once_per_day" } },
  { preset: "unsubscribed", name: "Unsubscribed", event: "$unsubscribed", points: -10, limit: { type: "once_per_user" } },
];
