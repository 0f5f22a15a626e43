import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerAddress } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  receivedAt: Date;
}

/** What the server answers for a recipient: accept, refuse with an SMTP code, or hold until released. */
export type RecipientBehaviour = { code: number; message: string } | { hold: Promise<void> } | null;

export interface SmtpSink {
  port: number;
  /** smtp://127.0.0.1:<port> for SMTP_URL. */
  url: string;
  messages: ReceivedMail[];
  /** Decides per recipient address; default accepts everything. */
  onRecipient(fn: (address: string) => RecipientBehaviour): void;
  /** Called when a recipient command arrives (before the behaviour applies). */
  onRecipientSeen(fn: (address: string) => void): void;
  /** Awaited after a whole message has arrived and before the server answers it (250): holds the reply. */
  beforeReply(fn: (mail: ReceivedMail) => Promise<void> | void): void;
  waitFor(predicate: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server on a random local port (the `smtp-server` package) that keeps every message
 * it accepts, parsed with `mailparser`, for tests and benchmarks.
 */
export async function startSmtpSink(options: { parse?: boolean } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let behaviour: (address: string) => RecipientBehaviour = () => null;
  let seen: (address: string) => void = () => {};
  let beforeReply: (mail: ReceivedMail) => Promise<void> | void = () => {};
  const waiters = new Set<() => void>();
  const parse = options.parse ?? true;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    maxClients: 200,
    // Pooled client connections are cut at close instead of holding the test for 30 s.
    closeTimeout: 200,
    size: 10 * 1024 * 1024,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      seen(address.address);
      const b = behaviour(address.address);
      if (b === null) return callback();
      if ("hold" in b) return void b.hold.then(() => callback(), () => callback());
      callback(Object.assign(new Error(b.message), { responseCode: b.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        const done = (parsed: ParsedMail) => {
          const mail: ReceivedMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
            receivedAt: new Date(),
          };
          messages.push(mail);
          for (const w of waiters) w();
          void Promise.resolve(beforeReply(mail)).then(() => callback(), () => callback());
        };
        if (!parse) return done({} as ParsedMail);
        simpleParser(raw).then(done, (err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.on("error", () => {});
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    onRecipient: (fn) => void (behaviour = fn),
    onRecipientSeen: (fn) => void (seen = fn),
    beforeReply: (fn) => void (beforeReply = fn),
    to: (address) => messages.filter((m) => m.to.includes(address)),
    waitFor(predicate, timeoutMs = 15_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = messages.find(predicate);
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching email within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
