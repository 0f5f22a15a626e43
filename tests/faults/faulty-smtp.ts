import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * Where in the SMTP conversation a fault can strike: before the greeting, at EHLO/HELO, MAIL FROM,
 * RCPT TO, the DATA command (before 354), the first chunk of message data (mid-DATA), and after the
 * final "." (the message is complete; the reply decides whether the client knows it was accepted).
 */
export type SmtpPhase = "connect" | "ehlo" | "mail" | "rcpt" | "data" | "body" | "end";

/** What the server does at a phase, optionally after a delay (a slow server). At `body` only `drop` applies. */
export type SmtpAction =
  | { do: "ok"; delayMs?: number }
  | { do: "reply"; code: number; text?: string; delayMs?: number }
  /** Destroy the socket without a reply. */
  | { do: "drop"; delayMs?: number }
  /** Never answer: the client's timeout decides. */
  | { do: "stall" };

export interface SmtpMoment {
  phase: SmtpPhase;
  /** 1-based number of the TCP connection. */
  connection: number;
  /** The envelope recipients so far (at `rcpt`: including the one being decided). */
  recipients: string[];
  /** At `end`: the message's Message-ID header. */
  messageId: string | null;
  /** How many times this phase was reached before for the same first recipient, or at all before RCPT (0 the first time). */
  seen: number;
}

export type SmtpFaultPlan = (moment: SmtpMoment) => SmtpAction;

/** A message whose data arrived complete (up to the final "."), and what the server did then. */
export interface SmtpCopy {
  to: string[];
  messageId: string | null;
  /** Lower-cased header name → unfolded value. */
  headers: Record<string, string>;
  outcome: "accepted" | "refused" | "dropped" | "stalled";
  code: number | null;
  /** Date.now() when the final "." arrived. */
  at: number;
}

export interface RecipientSeen {
  address: string;
  at: number;
  action: SmtpAction["do"];
}

export interface FaultySmtp {
  url: string;
  copies: SmtpCopy[];
  /** Every RCPT TO, in order, with what the server answered. */
  recipientsSeen: RecipientSeen[];
  /** `<action>@<phase>` → how often a fault (anything but ok) was applied. */
  faults: Record<string, number>;
  connections(): number;
  /** Transactions that passed MAIL FROM and have no final reply yet: sends in flight. */
  openTransactions(): number;
  /** Transactions the client abandoned: its connection closed before the final reply (a killed worker). */
  cutOff(): number;
  setPlan(plan: SmtpFaultPlan): void;
  close(): Promise<void>;
}

export const OK: SmtpAction = { do: "ok" };
const acceptEverything: SmtpFaultPlan = () => OK;

/** Copies the recipient's mailbox may hold: accepted, or complete when the reply was lost or never came. */
export const reachedServer = (c: SmtpCopy) => c.outcome !== "refused";

/** A plan as plain data, so a server in another process can be given one. */
export interface FaultRule {
  phase: SmtpPhase;
  action: SmtpAction;
  /** Only for this recipient (the transaction's first). */
  recipient?: string;
  /** Only the first `times` times the phase is reached (per recipient; before RCPT, in all). */
  times?: number;
}

/** The first matching rule applies; everything else is answered normally. */
export function rulePlan(rules: FaultRule[]): SmtpFaultPlan {
  return (m) =>
    rules.find((r) => r.phase === m.phase && (r.recipient === undefined || r.recipient === m.recipients[0]) && (r.times === undefined || m.seen < r.times))?.action ?? OK;
}

const DEFAULT_REPLIES: Record<SmtpPhase, string> = {
  connect: "220 faulty.test ESMTP",
  // Neither PIPELINING nor STARTTLS nor AUTH: nodemailer then sends one command at a time in clear.
  ehlo: "250-faulty.test\r\n250 8BITMIME",
  mail: "250 sender ok",
  rcpt: "250 recipient ok",
  data: "354 go ahead",
  body: "",
  end: "250 queued",
};

function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const unfolded = head.replace(/\r\n[ \t]+/g, " ");
  for (const line of unfolded.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

const HEADER_BYTES = 64 * 1024;
const addressIn = (arg: string) => (/<([^>]*)>/.exec(arg)?.[1] ?? arg.split(":")[1] ?? "").trim().toLowerCase();

/**
 * An SMTP server on `node:net` that misbehaves on purpose: a plan decides per phase to answer
 * normally, refuse with a code, drop the connection or never answer, so the fault suite can put a
 * real nodemailer pool through exactly the failure it wants (smtp-server answers for itself at
 * some of these points, e.g. it cannot read a whole message and then vanish without a reply).
 * It records every complete message (with its Message-ID) and what it did with it.
 */
export async function startFaultySmtp(initialPlan: SmtpFaultPlan = acceptEverything): Promise<FaultySmtp> {
  let plan = initialPlan;
  const copies: SmtpCopy[] = [];
  const recipientsSeen: RecipientSeen[] = [];
  const faults: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const seenCounts = new Map<string, number>();
  let connections = 0;
  let open = 0;
  let cutOff = 0;

  const decide = (phase: SmtpPhase, connection: number, recipients: string[], messageId: string | null): SmtpAction => {
    const key = `${phase}:${recipients[0] ?? "*"}`;
    const seen = seenCounts.get(key) ?? 0;
    seenCounts.set(key, seen + 1);
    const action = plan({ phase, connection, recipients, messageId, seen });
    if (phase === "rcpt") recipientsSeen.push({ address: recipients.at(-1)!, at: Date.now(), action: action.do });
    if (action.do !== "ok") faults[`${action.do}@${phase}`] = (faults[`${action.do}@${phase}`] ?? 0) + 1;
    return action;
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const connection = ++connections;
    let inData = false;
    let inTransaction = false;
    let busy = false;
    let recipients: string[] = [];
    let dataTail = "";
    let dataHead = "";
    let sawBody = false;

    let droppedByServer = false;
    const endTransaction = () => {
      if (inTransaction) open -= 1;
      inTransaction = false;
      recipients = [];
    };
    socket.on("close", () => {
      if (inTransaction && !droppedByServer) cutOff += 1;
      endTransaction();
    });

    /** Applies an action, then `onDone` says whether it answered normally or with a code; `okReply` is the normal answer. */
    const act = (action: SmtpAction, phase: SmtpPhase, onDone: (replied: "ok" | "reply") => void, okReply = DEFAULT_REPLIES[phase]) => {
      if (action.do === "stall") return;
      const run = () => {
        if (socket.destroyed) return;
        if (action.do === "drop") {
          droppedByServer = true;
          return void socket.destroy();
        }
        if (action.do === "reply") {
          socket.write(`${action.code} ${action.text ?? "fault injected"}\r\n`);
          return onDone("reply");
        }
        if (okReply) socket.write(`${okReply}\r\n`);
        onDone("ok");
      };
      if (action.delayMs) setTimeout(run, action.delayMs);
      else run();
    };

    const command = (line: string) => {
      const verb = line.slice(0, 4).toUpperCase();
      const arg = line.slice(4).trim();
      const step = (phase: SmtpPhase, after: (replied: "ok" | "reply") => void = () => {}, okReply?: string) => {
        busy = true;
        act(decide(phase, connection, recipients, null), phase, (r) => {
          busy = false;
          after(r);
          drain();
        }, okReply);
      };
      switch (verb) {
        case "EHLO":
        case "HELO":
          return step("ehlo", () => {}, verb === "HELO" ? "250 faulty.test" : undefined);
        case "MAIL":
          return step("mail", (r) => {
            if (r !== "ok") return;
            if (!inTransaction) open += 1;
            inTransaction = true;
            recipients = [];
          });
        case "RCPT":
          recipients.push(addressIn(arg));
          return step("rcpt", (r) => {
            if (r !== "ok") recipients.pop();
          });
        case "DATA":
          return step("data", (r) => {
            if (r !== "ok") return;
            inData = true;
            dataTail = "\r\n";
            dataHead = "";
            sawBody = false;
          });
        case "RSET":
          endTransaction();
          return void socket.write("250 reset\r\n");
        case "NOOP":
          return void socket.write("250 ok\r\n");
        case "QUIT":
          socket.end("221 bye\r\n");
          return;
        default:
          return void socket.write("502 command not implemented\r\n");
      }
    };

    const finishData = () => {
      inData = false;
      const headEnd = dataHead.indexOf("\r\n\r\n");
      const headers = parseHeaders(headEnd >= 0 ? dataHead.slice(0, headEnd) : dataHead);
      const copy: SmtpCopy = { to: [...recipients], messageId: headers["message-id"] ?? null, headers, outcome: "accepted", code: 250, at: Date.now() };
      copies.push(copy);
      const action = decide("end", connection, recipients, copy.messageId);
      if (action.do === "drop") Object.assign(copy, { outcome: "dropped", code: null });
      else if (action.do === "stall") Object.assign(copy, { outcome: "stalled", code: null });
      else if (action.do === "reply") Object.assign(copy, { outcome: action.code < 400 ? "accepted" : "refused", code: action.code });
      busy = true;
      act(action, "end", () => {
        endTransaction();
        busy = false;
        drain();
      });
    };

    /** Message data up to the final "."; returns what follows it (the next commands). */
    const data = (chunk: string): string => {
      const window = dataTail + chunk;
      const end = window.indexOf("\r\n.\r\n");
      if (end < 0 && !sawBody) {
        // Mid-DATA: part of the message is here, its end is not (only long messages get here).
        // Reading stops, so with a delay the client's writes back up as they would on a dead link.
        sawBody = true;
        const action = decide("body", connection, recipients, null);
        if (action.do === "drop") {
          socket.pause();
          act(action, "body", () => {});
          return "";
        }
      }
      const body = end < 0 ? chunk : chunk.slice(0, Math.max(0, end + 2 - dataTail.length));
      if (dataHead.length < HEADER_BYTES) dataHead += body.slice(0, HEADER_BYTES - dataHead.length);
      if (end < 0) {
        dataTail = window.slice(-4);
        return "";
      }
      finishData();
      return window.slice(end + 5);
    };

    let pending = "";
    const drain = () => {
      while (!busy && !socket.destroyed && pending.length > 0) {
        if (inData) {
          // Taken out first: the final reply may run drain() again before data() returns.
          const chunk = pending;
          pending = "";
          pending = data(chunk) + pending;
          continue;
        }
        const nl = pending.indexOf("\r\n");
        if (nl < 0) return;
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 2);
        command(line);
      }
    };
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      pending += chunk;
      drain();
    });

    busy = true;
    act(decide("connect", connection, [], null), "connect", () => {
      busy = false;
      drain();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    copies,
    recipientsSeen,
    faults,
    connections: () => connections,
    openTransactions: () => open,
    cutOff: () => cutOff,
    setPlan: (p) => void (plan = p),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
