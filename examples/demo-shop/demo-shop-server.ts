import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { trackerSnippet } from "@nurture/tracker";
import { SignJWT } from "jose";

const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));
const FILES = new Set(["index.html", "product.html", "pricing.html", "checkout.html", "shop.css", "shop.js"]);
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "application/javascript; charset=utf-8" };
const SNIPPET_MARK = "<!-- nurture:snippet -->";

export interface DemoShopOptions {
  /** Where browsers reach Nurture (the snippet loads /tracker.js from there). */
  apiUrl: string;
  writeKey: string;
  /** The project's identity secret: the shop's "server" signs visitors' identity tokens with it. */
  identitySecret: string;
  port?: number;
  host?: string;
}

export interface DemoShop {
  url: string;
  close(): Promise<void>;
}

/** Signs the identity token a real site's backend would issue after its own login. */
export function signIdentityToken(secret: string, userId: string, expiresIn = "1h"): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(userId).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error("body too large");
  }
  return JSON.parse(body);
}

/**
 * The demo shop's web server: static pages with the install snippet filled in, plus the one thing a
 * real shop's backend adds for Nurture — a login that returns a signed identity token.
 */
export async function startDemoShop(options: DemoShopOptions): Promise<DemoShop> {
  const snippet = trackerSnippet({ writeKey: options.writeKey, host: options.apiUrl });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const fail = (status: number, message: string) => {
      res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(message);
    };
    if (path === "/demo/login" && req.method === "POST") {
      readJson(req)
        .then(async (body) => {
          const { email, name } = (body ?? {}) as { email?: unknown; name?: unknown };
          if (typeof email !== "string" || !/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254) return fail(400, "a valid email is required");
          // the demo trusts the form; a real shop checks a password first, then signs
          const userId = email.trim().toLowerCase();
          const token = await signIdentityToken(options.identitySecret, userId);
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ userId, token, name: typeof name === "string" ? name : undefined }));
        })
        .catch(() => fail(400, "invalid JSON"));
      return;
    }
    const file = path === "/" ? "index.html" : path.slice(1);
    if (!FILES.has(file)) return fail(404, "not found");
    readFile(join(PUBLIC_DIR, file), "utf8")
      .then((text) => {
        res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
        res.end(file.endsWith(".html") ? text.replace(SNIPPET_MARK, snippet) : text);
      })
      .catch(() => fail(500, "could not read the page"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
