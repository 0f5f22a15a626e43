import { Readable } from "node:stream";
import { loadConfig } from "@nurture/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultySmtpProcess, type FaultySmtpProcess } from "../../../../tests/faults/faulty-smtp-process";
import type { FaultRule } from "../../../../tests/faults/faulty-smtp";
import { classifySmtpError } from "./email.channel";
import { closeMailer, mailerFor } from "./mail-transport";

let smtp: FaultySmtpProcess;
beforeAll(async () => {
  smtp = await startFaultySmtpProcess();
});
afterAll(async () => {
  await smtp.close();
});

/** Sends one message through a fresh pool while the server follows `rules`; the error, classified. */
async function sendThrough(rules: FaultRule[], to: string, text: string | Readable = "Hello") {
  await smtp.setRules(rules);
  const config = loadConfig({ SMTP_URL: smtp.url });
  try {
    await mailerFor(config).send({ from: "shop@example.test", to, subject: "Hello", text, messageId: `<${to}>` }, to);
    return { sent: true as const };
  } catch (err) {
    return { sent: false as const, error: err as { code?: string; message: string }, failure: classifySmtpError(err) };
  } finally {
    closeMailer(config);
  }
}

const copiesTo = async (to: string) => (await smtp.copies()).filter((c) => c.to.includes(to));
const retried = { permanent: false, hardBounce: false, ambiguous: false };

describe("an SMTP connection lost", () => {
  it.each([
    ["before the greeting", "connect"],
    ["after EHLO", "ehlo"],
    ["at MAIL FROM", "mail"],
    ["at RCPT TO", "rcpt"],
    ["at the DATA command", "data"],
  ] as const)("%s is retried: nothing was handed over", async (_, phase) => {
    const to = `lost-${phase}@example.test`;
    const outcome = await sendThrough([{ phase, action: { do: "drop" } }], to);
    expect(outcome.sent).toBe(false);
    expect(outcome.failure).toMatchObject(retried);
    expect(await copiesTo(to)).toHaveLength(0);
  });

  it("while the message data is being sent is retried: the client had not finished writing it", async () => {
    const to = "lost-mid-data@example.test";
    // 8 MB produced chunk by chunk (one huge string would sit whole in the socket's buffer, "written"):
    // more than the socket buffers hold once the server has stopped reading.
    const lines = Readable.from((function* () {
      for (let i = 0; i < 128; i++) yield `${"x".repeat(65_535)}\n`;
    })());
    const outcome = await sendThrough([{ phase: "body", action: { do: "drop", delayMs: 300 } }], to, lines);
    expect(outcome.failure).toMatchObject(retried);
    expect(outcome.error?.code).toMatch(/^(ESOCKET|ECONNECTION)$/);
  });

  it("after the final dot is ambiguous: failed, never resent by the pool, the address kept", async () => {
    const to = "lost-after-dot@example.test";
    const outcome = await sendThrough([{ phase: "end", action: { do: "drop" } }], to);
    expect(outcome.error).toMatchObject({ code: "ECONNECTION", message: "Connection closed unexpectedly" });
    expect(outcome.failure).toMatchObject({ permanent: true, hardBounce: false, ambiguous: true });
    expect(outcome.failure?.reason).toMatch(/may have accepted/);
    // The server has the whole message once: the pool (maxRequeues 0) did not send it again.
    expect(await copiesTo(to)).toMatchObject([{ outcome: "dropped", messageId: `<${to}>` }]);
  });
});

describe("SMTP replies", () => {
  it.each([
    ["421 instead of the greeting", { phase: "connect", action: { do: "reply", code: 421, text: "busy" } }, retried],
    ["451 to RCPT TO", { phase: "rcpt", action: { do: "reply", code: 451, text: "greylisted" } }, retried],
    ["451 after the data", { phase: "end", action: { do: "reply", code: 451, text: "try later" } }, retried],
    ["550 to RCPT TO", { phase: "rcpt", action: { do: "reply", code: 550, text: "no such user" } }, { permanent: true, hardBounce: true, ambiguous: false }],
    ["554 after the data", { phase: "end", action: { do: "reply", code: 554, text: "content rejected" } }, { permanent: true, hardBounce: false, ambiguous: false }],
  ] as const)("%s decides by its code", async (name, rule, expected) => {
    const outcome = await sendThrough([rule as FaultRule], `reply-${name.replace(/\W+/g, "-")}@example.test`);
    expect(outcome.failure).toMatchObject(expected);
    expect(outcome.failure?.reason).toContain(`SMTP ${rule.action.code}`);
  });

  it("250 after the data is a send", async () => {
    expect(await sendThrough([], "fine@example.test")).toEqual({ sent: true });
    expect(await copiesTo("fine@example.test")).toMatchObject([{ outcome: "accepted" }]);
  });
});
