import type { campaignInputSchema, Delay, LifecycleSettingsInput, scoringRuleInputSchema } from "@nurture/core";
import type { z } from "zod";

export type DemoCampaign = z.input<typeof campaignInputSchema>;
export type DemoScoringRule = z.input<typeof scoringRuleInputSchema>;

/** Lifecycle stages for a shop: buying is the core action, coming back the activity, membership advanced. */
export const DEMO_LIFECYCLE: LifecycleSettingsInput = {
  coreEvent: "order_placed",
  activityEvent: "$session_start",
  advancedEvent: "plan_selected",
  activeWithinDays: 14,
  coreWithinDays: 30,
  coreCountAbove: 2,
};

/** On top of the default rule set (page visits, payment form…): the shop's own buying signals. */
export const DEMO_SCORING_RULES: DemoScoringRule[] = [
  { name: "Added to cart", event: "added_to_cart", points: 15, limit: { type: "once_per_day" } },
  { name: "Started checkout", event: "checkout_started", points: 25, limit: { type: "once_per_day" } },
];

export interface DemoCampaignOptions {
  /** The shop's address, for links in messages. */
  shopUrl: string;
  /** How long after the payment form was viewed (without an order) the chat message goes out. */
  chatDelay: Delay;
  /** How long after checkout started (without an order) the reminder email goes out. */
  emailDelay: Delay;
}

export const DEMO_TIMINGS: Pick<DemoCampaignOptions, "chatDelay" | "emailDelay"> = {
  chatDelay: { amount: 2, unit: "minutes" },
  emailDelay: { amount: 5, unit: "minutes" },
};

/** The order goal every demo campaign is measured by. */
const ORDER_GOAL = { event: "order_placed", withinDays: 7, revenueProperty: "revenue" };
const noOrderYet = { not: { event: "order_placed", happened: true } };

/** The product's story in three campaigns: greet, help at the hesitation point, bring back. */
export function demoCampaigns(options: DemoCampaignOptions): DemoCampaign[] {
  const shop = options.shopUrl.replace(/\/+$/, "");
  return [
    {
      name: "Welcome popup for new visitors",
      description: "A first-time, anonymous visitor sees a welcome offer on their first page view.",
      trigger: { type: "event", event: "$page" },
      audience: { identified: false },
      repeat: { mode: "once" },
      goal: ORDER_GOAL,
      steps: [
        {
          channel: "popup",
          content: {
            title: "Welcome to Nurture Outfitters!",
            body: "New here? Take 10% off your first order with the code WELCOME10.",
            buttonLabel: "Browse the catalogue",
            buttonUrl: `${shop}/`,
          },
        },
      ],
    },
    {
      name: "Help at the payment step",
      description: "A visitor who opened the payment form and did not pay gets a chat message from the team.",
      trigger: { type: "event", event: "payment_form_viewed" },
      repeat: { mode: "every", days: 7 },
      goal: ORDER_GOAL,
      steps: [
        {
          delay: options.chatDelay,
          condition: noOrderYet,
          channel: "chat",
          content: {
            text: "Hi {{ user.name | default: 'there' }}! I saw you stopped at the payment step. Anything I can help with? Shipping is free over $100.",
            senderName: "Maria from Nurture Outfitters",
          },
        },
      ],
    },
    {
      name: "Abandoned checkout email",
      description: "An identified customer who started checkout and did not buy gets a reminder by email.",
      trigger: { type: "event", event: "checkout_started" },
      audience: { and: [{ identified: true }, { emailKnown: true }] },
      repeat: { mode: "every", days: 3 },
      goal: ORDER_GOAL,
      steps: [
        {
          delay: options.emailDelay,
          condition: noOrderYet,
          channel: "email",
          content: {
            subject: "{{ user.name | default: 'Hi' }}, your cart is waiting",
            html: `<p>Hi {{ user.name | default: 'there' }},</p><p>You left \${{ event.properties.value }} worth of gear in your cart. It is still there for you.</p><p><a href="${shop}/checkout.html">Finish your order</a></p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>`,
            fromName: "Nurture Outfitters",
            fromAddress: "shop@outfitters.example",
          },
        },
      ],
    },
  ];
}
