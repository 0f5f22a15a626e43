import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRaw, sleep } from "./testing/raw-http";

let h: Harness;
let url: string;
let auth: string;
beforeAll(async () => {
  // Small timeouts so slow clients are cut off within the test; production defaults are 30 s / 10 s.
  h = await createHarness({ config: { HTTP_REQUEST_TIMEOUT_MS: "1500", HTTP_HEADERS_TIMEOUT_MS: "800" } });
  url = await h.app.listen({ host: "127.0.0.1", port: 0 });
  auth = Buffer.from(`${h.project.writeKey}:`).toString("base64");
});
afterAll(async () => h.close());

const head = (path: string, headers: Record<string, string | number>) =>
  [`POST ${path} HTTP/1.1`, "Host: 127.0.0.1", `Authorization: Basic ${auth}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");

describe("oversized bodies", () => {
  it.each(["/v1/track", "/v1/batch", "/v1/users/ann/props"])("answers 413 to a huge Content-Length on %s before any of the body is sent", async (path) => {
    const conn = await openRaw(url);
    await conn.write(head(path, { "Content-Type": "application/json", "Content-Length": 200 * 1024 * 1024 }));
    // Not one byte of the 200 MB body is sent: the answer can only come from the declared length.
    expect(await conn.statusLine).toMatch(/^HTTP\/1\.1 413/);
    conn.socket.destroy();
  });

  it("answers 413 to a chunked body as soon as it passes the limit, without reading the rest", async () => {
    const conn = await openRaw(url);
    await conn.write(head("/v1/track", { "Content-Type": "application/json", "Transfer-Encoding": "chunked" }));
    const chunk = Buffer.from(`4000\r\n${"x".repeat(0x4000)}\r\n`);
    const total = 10 * 1024 * 1024;
    let sent = 0;
    let answered = false;
    void conn.statusLine.then(() => (answered = true));
    while (!answered && !conn.isClosed() && sent < total) {
      await conn.write(chunk);
      sent += 0x4000;
      await sleep(1);
    }
    expect(await conn.statusLine).toMatch(/^HTTP\/1\.1 413/);
    expect(sent).toBeLessThan(total);
    conn.socket.destroy();
  });

  it("stores nothing from an oversized request and keeps serving others", async () => {
    const res = await h.track("/v1/track", { anonymousId: "after-413", event: "ok" });
    expect(res.statusCode).toBe(200);
  });
});

describe("slow clients", () => {
  it("closes a connection whose body trickles in a byte at a time", async () => {
    const body = JSON.stringify({ anonymousId: "slow", event: "trickled", properties: { pad: "x".repeat(400) } });
    const conn = await openRaw(url);
    await conn.write(head("/v1/track", { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }));
    let sent = 0;
    while (!conn.isClosed() && sent < body.length) {
      await conn.write(body[sent]!);
      sent++;
      await sleep(50);
    }
    await conn.closed;
    expect(sent).toBeLessThan(body.length);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/);
    const stored = await h.db.selectFrom("events").select("id").where("name", "=", "trickled").execute();
    expect(stored).toHaveLength(0);
  });

  it("closes a connection whose headers trickle in (slowloris)", async () => {
    const conn = await openRaw(url);
    await conn.write("POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const header = "X-Padding: " + "y".repeat(400);
    let sent = 0;
    while (!conn.isClosed() && sent < header.length) {
      await conn.write(header[sent]!);
      sent++;
      await sleep(50);
    }
    await conn.closed;
    expect(sent).toBeLessThan(header.length);
  });

  it("still serves a client that sends at normal speed", async () => {
    const res = await fetch(`${url}/v1/track`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${auth}` },
      body: JSON.stringify({ anonymousId: "fast", event: "ok" }),
    });
    expect(res.status).toBe(200);
  });
});
