import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FaultRule, SmtpCopy } from "./faulty-smtp";

type SmtpAsk = { type: "copies" } | { type: "rules"; rules: FaultRule[] };
export type SmtpRequest = SmtpAsk & { id: number };
type SmtpReply = { id: number; url?: string; copies?: SmtpCopy[]; faults?: Record<string, number> };

export interface FaultySmtpProcess {
  url: string;
  setRules(rules: FaultRule[]): Promise<void>;
  copies(): Promise<SmtpCopy[]>;
  close(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("./faulty-smtp.main.ts", import.meta.url));

/**
 * The faulty SMTP server (faulty-smtp.ts) in a child process. A client in the same process as the
 * server would share its event loop: while nodemailer streams a large message the server reads
 * nothing, so "the server stopped reading mid-DATA" could not happen the way it does on a network.
 */
export async function startFaultySmtpProcess(rules: FaultRule[] = []): Promise<FaultySmtpProcess> {
  const child = fork(MAIN, [JSON.stringify(rules)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waiting = new Map<number, (reply: SmtpReply) => void>();
  child.on("message", (reply: SmtpReply) => {
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  const reply = (id: number) => new Promise<SmtpReply>((resolve, reject) => {
    waiting.set(id, resolve);
    void exited.then(() => reject(new Error("the faulty SMTP server process exited")));
  });
  let next = 1;
  const ask = (request: SmtpAsk) => {
    const id = next++;
    const answer = reply(id);
    child.send({ ...request, id });
    return answer;
  };
  const { url } = await reply(0);
  return {
    url: url!,
    setRules: async (r) => void (await ask({ type: "rules", rules: r })),
    copies: async () => (await ask({ type: "copies" })).copies ?? [],
    async close() {
      child.disconnect();
      await exited;
    },
  };
}
