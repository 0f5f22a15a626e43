import { describe, expect, it } from "vitest";
import { classifyChannel, firstTouchOps, readTouch } from "./browser/attribution";

describe("first-touch attribution", () => {
  it("records UTM tags, the referrer's domain and the landing page without its query", () => {
    const touch = readTouch(
      "https://shop.example/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring&plan=pro",
      "https://www.mail.example/inbox/42?x=1",
    );
    expect(touch).toEqual({
      channel: "email",
      landing_page: "https://shop.example/pricing",
      referrer: "https://www.mail.example/inbox/42",
      referrer_domain: "mail.example",
      utm_source: "newsletter",
      utm_medium: "email",
      utm_campaign: "spring",
    });
  });

  it("does not count the site's own pages as a referrer", () => {
    const touch = readTouch("https://shop.example/cart", "https://shop.example/catalogue");
    expect(touch.referrer_domain).toBeUndefined();
    expect(touch.channel).toBe("direct");
  });

  it.each([
    [{ landing_page: "/", gclid: "abc" }, "paid"],
    [{ landing_page: "/", utm_medium: "cpc", utm_source: "google" }, "paid"],
    [{ landing_page: "/", referrer_domain: "google.com" }, "organic_search"],
    [{ landing_page: "/", referrer_domain: "duckduckgo.com" }, "organic_search"],
    [{ landing_page: "/", referrer_domain: "linkedin.com" }, "social"],
    [{ landing_page: "/", referrer_domain: "t.co" }, "social"],
    [{ landing_page: "/", referrer_domain: "blog.partner.example" }, "referral"],
    [{ landing_page: "/", utm_source: "podcast" }, "campaign"],
    [{ landing_page: "/" }, "direct"],
  ])("classifies %o as %s", (touch, channel) => {
    expect(classifyChannel(touch)).toBe(channel);
  });

  it("becomes set_once operations prefixed first_, so later visits never overwrite the first source", () => {
    const ops = firstTouchOps(readTouch("https://shop.example/?utm_source=ads&utm_medium=cpc", ""));
    expect(ops).toEqual([
      { op: "set_once", key: "first_channel", value: "paid" },
      { op: "set_once", key: "first_landing_page", value: "https://shop.example/" },
      { op: "set_once", key: "first_utm_medium", value: "cpc" },
      { op: "set_once", key: "first_utm_source", value: "ads" },
    ]);
  });

  it("survives URLs that do not parse", () => {
    expect(readTouch("not a url", "also not").channel).toBe("direct");
  });
});
