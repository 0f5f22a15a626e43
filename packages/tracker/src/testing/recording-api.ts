import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { buildTrackerBundle } from "../tracker-bundle";

/**
 * Test double for the site's traffic to Nurture: records what browsers send to `/v1/batch` and
 * the widget endpoints, answers as scripted, and serves `/tracker.js` like the real API. Lives on
 * its own port, so pages served by `startSite` talk to it cross-origin, as on a real site.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string's parameters. */
  query: Record<string, string>;
  headers: IncomingMessage["headers"];
  body: string;
  status: number;
}

export interface BatchMessage {
  type: string;
  messageId: string;
  anonymousId: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  ops?: Array<{ op: string; key: string; value?: unknown }>;
  context: Record<string, unknown> & { identityToken?: string; sessionId?: string; page?: Record<string, unknown> };
  timestamp: string;
}

export interface BatchRequest {
  writeKey: string;
  batch: BatchMessage[];
  sentAt: string;
}

export interface InboxMessage {
  id: string;
  channel: "popup" | "chat";
  content: Record<string, string>;
  createdAt: string;
}

export interface RecordingApi {
  url: string;
  requests: RecordedRequest[];
  /** Messages from batches answered 2xx, once per messageId (the real API deduplicates too). */
  events(): BatchMessage[];
  /** Every batch body received, whatever the answer. */
  batches(): BatchRequest[];
  /** How to answer the n-th batch (1-based); default 200. */
  answerBatch: (n: number, body: BatchRequest) => { status: number; headers?: Record<string, string> };
  inbox: InboxMessage[];
  inboxStatus: number;
  reports(): Array<{ id: string; action: string; body: Record<string, unknown>; identity: string | undefined }>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export async function startRecordingApi(): Promise<RecordingApi> {
  const requests: RecordedRequest[] = [];
  const delivered = new Map<string, BatchMessage>();
  let batchCount = 0;
  const bundle = await buildTrackerBundle();

  const api: RecordingApi = {
    url: "",
    requests,
    events: () => [...delivered.values()],
    batches: () => requests.filter((r) => r.path === "/v1/batch" && r.method === "POST").map((r) => JSON.parse(r.body) as BatchRequest),
    answerBatch: () => ({ status: 200 }),
    inbox: [],
    inboxStatus: 200,
    reports: () =>
      requests
        .filter((r) => r.method === "POST" && r.path.startsWith("/v1/widget/messages/"))
        .map((r) => {
          const [, , , , id, action] = r.path.split("/");
          return { id: decodeURIComponent(id ?? ""), action: action ?? "", body: JSON.parse(r.body) as Record<string, unknown>, identity: r.headers["x-nurture-identity"] as string | undefined };
        }),
    close: () => closeServer(server),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const body = await readBody(req);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      const query = Object.fromEntries(new URL(req.url ?? "/", "http://recording.test").searchParams);
      requests.push({ method: req.method ?? "GET", path, query, headers: req.headers, body, status });
      res.writeHead(status, {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Content-Type, X-Nurture-Identity",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Expose-Headers": "Retry-After",
        ...headers,
      });
      res.end(typeof payload === "string" ? payload : JSON.stringify(payload));
    };
    if (req.method === "OPTIONS") return send(204, "");
    if (path === "/tracker.js") return send(200, bundle, { "Content-Type": "application/javascript" });
    if (path === "/v1/batch" && req.method === "POST") {
      const parsed = JSON.parse(body) as BatchRequest;
      const answer = api.answerBatch(++batchCount, parsed);
      if (answer.status >= 200 && answer.status < 300) for (const m of parsed.batch) if (!delivered.has(m.messageId)) delivered.set(m.messageId, m);
      return send(answer.status, answer.status < 300 ? { ok: true } : { error: { code: "test", message: "scripted" } }, answer.headers);
    }
    if (path === "/v1/widget/messages" && req.method === "GET") return send(api.inboxStatus, { messages: api.inbox });
    if (path.startsWith("/v1/widget/messages/") && req.method === "POST") {
      const id = decodeURIComponent(path.split("/")[4] ?? "");
      const action = path.split("/")[5];
      if (action === "clicked" || action === "dismissed" || action === "reply") api.inbox = api.inbox.filter((m) => m.id !== id);
      return send(200, { ok: true });
    }
    return send(404, { error: { code: "not_found", message: path } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  api.url = await listen(server);
  return api;
}

/** A static "customer site" on another port: pages are registered by the test. */
export interface TestSite {
  url: string;
  pages: Map<string, string>;
  close(): Promise<void>;
}

export async function startSite(): Promise<TestSite> {
  const pages = new Map<string, string>();
  const server = createServer((req, res) => {
    const html = pages.get((req.url ?? "/").split("?")[0] ?? "/");
    res.writeHead(html === undefined ? 404 : 200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html ?? "not found");
  });
  const url = await listen(server);
  return { url, pages, close: () => closeServer(server) };
}
