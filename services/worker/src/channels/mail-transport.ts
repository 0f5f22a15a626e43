import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "@nurture/config";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";

export interface SentMail {
  /** The SMTP server's reply ("250 OK …") or the .eml file written. */
  response: string;
}

export interface Mailer {
  send(mail: Mail.Options, fileName: string): Promise<SentMail>;
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
 * SMTP with a connection pool when SMTP_URL is set. Requeueing inside the pool is off: when a
 * connection drops mid-send the send fails, and the delivery job's retry (with the ledger claim)
 * decides what happens — nodemailer never silently resends a message the server may have accepted.
 */
function smtpMailer(config: Config): Mailer {
  let transport: nodemailer.Transporter | null = null;
  let idle: NodeJS.Timeout | undefined;
  let inFlight = 0;
  const open = () =>
    (transport ??= nodemailer.createTransport<SMTPPool.SentMessageInfo>({
      ...smtpOptionsFromUrl(config.SMTP_URL!),
      pool: true,
      maxConnections: config.SMTP_POOL_SIZE,
      maxMessages: 1_000,
      maxRequeues: 0,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 60_000,
    } as SMTPPool.Options));
  const close = () => {
    transport?.close();
    transport = null;
  };
  return {
    async send(mail) {
      clearTimeout(idle);
      inFlight += 1;
      try {
        const info = (await open().sendMail(mail)) as { response?: string };
        return { response: info.response ?? "accepted" };
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
