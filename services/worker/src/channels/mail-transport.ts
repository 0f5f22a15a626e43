import { mkdir, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { Config } from "@nurture/config";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import type MailMessage from "nodemailer/lib/mailer/mail-message";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import { holdEnd } from "./held-end-stream";

export interface SentMail {
  /** The SMTP server's reply ("250 OK …") or the .eml file written. */
  response: string;
}

export interface Mailer {
  send(mail: Mail.Options, fileName: string, options?: SendOptions): Promise<SentMail>;
  close(): void;
}

/** Pooled connections are closed after this long without a send, so an idle worker holds none. */
const IDLE_CLOSE_MS = 30_000;

/**
 * SMTP_URL as nodemailer options. (nodemailer's own `url` option would discard every other option,
 * pooling included, so the URL is taken apart here.)
 */
export function smtpOptionsFromUrl(url: string): { host: string; port: number; secure: boolean; auth?: { user: string; pass: string } } {
  const u = new URL(url);
  const secure = u.protocol === "smtps:";
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
  };
}

/**
 * Set on a failed send's error: whether the whole message, up to its final ".", had been handed to
 * the connection. A connection lost after that is ambiguous — the server may have accepted the
 * message and only its reply was lost (RFC 1047) — while one lost before it is a plain failure.
 * nodemailer cannot tell them apart: a drop at EHLO, MAIL, RCPT, DATA or after the final "." is the
 * same `ECONNECTION` "Connection closed unexpectedly" with command `CONN`.
 */
export interface SmtpHandover {
  dataHandedOver: boolean;
}

export interface SendOptions {
  /**
   * Runs once the server has taken every byte of the message but the final "." (the point of no
   * return); the "." is written when it resolves, and the send fails unsent when it rejects. The
   * delivery job records the hand-over durably here, so a worker that dies right after it never
   * makes a second copy.
   */
  beforeHandover?: () => Promise<void>;
}

/** The mail option under which a send carries its hand-over record into nodemailer's stream plugin. */
const HANDOVER = "nurtureHandover";

/** One send's hand-over state, shared by the stream plugin and `send`. */
interface Handover extends SmtpHandover, SendOptions {
  /** The send has failed: nothing of it may be handed over or recorded any more. */
  closed: boolean;
  /** `beforeHandover` under way, awaited before a failure is reported. */
  pending?: Promise<void>;
}

/**
 * The end of nodemailer's message stream, held until `beforeHandover` has run (see holdEnd). The
 * last bytes may still sit in the socket's buffer when the "." goes after them: a drop then is
 * counted as ambiguous too, the side that risks a loss rather than a second copy. When the envelope
 * is refused, nodemailer drains the message into nothing; a send that has already failed then
 * hands nothing over.
 */
function watchHandover(mail: MailMessage, done: (err?: Error | null) => void): void {
  const handover = (mail.data as Record<string, unknown>)[HANDOVER] as Handover | undefined;
  if (handover) {
    mail.message.processFunc((output) =>
      holdEnd(output, async () => {
        if (handover.closed) throw new Error("the send failed before its hand-over");
        handover.pending = handover.beforeHandover?.();
        await handover.pending;
        if (handover.closed) throw new Error("the send failed before its hand-over");
        handover.dataHandedOver = true;
      }),
    );
  }
  done();
}

/**
 * Connections with Nagle's algorithm off. An SMTP client writes the message and then its final "."
 * (here, deliberately, once the hand-over is recorded); with Nagle on, the "." waits until the
 * server acknowledges the message, and servers delay that acknowledgement by up to 40 ms (Linux):
 * every email on a pooled connection took about 44 ms instead of 2. The same stall was found and
 * fixed in other SMTP clients (lettre, Swift Mailer). nodemailer's pool only takes a connected
 * socket from `getSocket` (it then does TLS, implicit or STARTTLS, on it itself).
 */
export function noDelaySocket(
  options: { host?: string; port?: number; connectionTimeout?: number },
  callback: (err: Error | null, socket?: { connection: Socket }) => void,
): void {
  const socket = connect({ host: options.host, port: options.port ?? 587, noDelay: true });
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error("Connection timeout"), { code: "ETIMEDOUT", command: "CONN" })), options.connectionTimeout ?? 10_000);
  const failed = (err: Error) => {
    clearTimeout(timer);
    callback(err);
  };
  socket.once("error", failed);
  socket.once("connect", () => {
    clearTimeout(timer);
    socket.off("error", failed);
    callback(null, { connection: socket });
  });
}

/**
 * SMTP with a connection pool when SMTP_URL is set.
 *
 * `maxRequeues: 0`: nodemailer's pool puts a message back in its queue and sends it again when
 * the connection closes under it without an error — in nodemailer 7 a close before the server's
 * greeting; every later drop, the one after the final "." included, fails the send with
 * ECONNECTION. That resend is the pool's decision, made without looking at how far the message
 * got; with 0 every failure reaches classifySmtpError, which does look (a drop after the data is
 * ambiguous and not resent, anything earlier is retried by the delivery job). The price: a
 * connection closed before its greeting (a relay restarting or shedding load) fails the send and
 * costs a job retry with backoff, where the pool would have reconnected at once.
 *
 * Timeouts: 10 s to connect and for the greeting; 15 s of silence at any later point (the reply to
 * the final "." included) fails the send. That is far above a healthy relay's answer time and below
 * the runner's 25 s shutdown limit, so a stalled server fails the send (ambiguous if it stalled
 * after the data) before a deploy has to kill the worker in the middle of it.
 */
function smtpMailer(config: Config): Mailer {
  let transport: nodemailer.Transporter | null = null;
  let idle: NodeJS.Timeout | undefined;
  let inFlight = 0;
  const open = () => {
    if (transport) return transport;
    transport = nodemailer.createTransport<SMTPPool.SentMessageInfo>({
      ...smtpOptionsFromUrl(config.SMTP_URL!),
      getSocket: noDelaySocket,
      pool: true,
      maxConnections: config.SMTP_POOL_SIZE,
      maxMessages: 1_000,
      maxRequeues: 0,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 15_000,
      dnsTimeout: 10_000,
    } as SMTPPool.Options);
    transport.use("stream", watchHandover);
    return transport;
  };
  const close = () => {
    transport?.close();
    transport = null;
  };
  return {
    async send(mail, _fileName, options = {}) {
      clearTimeout(idle);
      inFlight += 1;
      const handover: Handover = { dataHandedOver: false, closed: false, ...options };
      try {
        const info = (await open().sendMail({ ...mail, [HANDOVER]: handover } as Mail.Options)) as { response?: string };
        return { response: info.response ?? "accepted" };
      } catch (err) {
        handover.closed = true;
        const dataHandedOver = handover.dataHandedOver;
        // A hand-over record being written for this failed send lands before the failure is
        // recorded (which clears it), never after.
        await handover.pending?.catch(() => undefined);
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), { dataHandedOver });
      } finally {
        inFlight -= 1;
        if (inFlight === 0) {
          idle = setTimeout(close, IDLE_CLOSE_MS);
          idle.unref();
        }
      }
    },
    close() {
      clearTimeout(idle);
      close();
    },
  };
}

/** Without SMTP_URL (the default mode) every email becomes an .eml file in DATA_DIR/outbox. */
function outboxMailer(config: Config): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  const dir = join(config.DATA_DIR, "outbox");
  return {
    async send(mail, fileName) {
      const info = (await transport.sendMail(mail)) as { message: Buffer };
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${fileName}.eml`);
      await writeFile(path, info.message);
      return { response: `written to ${path}` };
    },
    close() {},
  };
}

const mailers = new WeakMap<Config, Mailer>();

/** One mailer (one SMTP pool) per worker configuration. */
export function mailerFor(config: Config): Mailer {
  let mailer = mailers.get(config);
  if (!mailer) {
    mailer = config.SMTP_URL ? smtpMailer(config) : outboxMailer(config);
    mailers.set(config, mailer);
  }
  return mailer;
}

/** Closes the configuration's SMTP pool (worker shutdown). */
export function closeMailer(config: Config): void {
  mailers.get(config)?.close();
  mailers.delete(config);
}
