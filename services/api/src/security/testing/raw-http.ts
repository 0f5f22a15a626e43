import { connect, type Socket } from "node:net";

/** A hand-driven HTTP/1.1 connection: the test decides what is sent, byte by byte, and when. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the server has sent a full status line. */
  statusLine: Promise<string>;
  /** Resolves when the server closed the connection (or it failed). */
  closed: Promise<void>;
  isClosed(): boolean;
  write(data: string | Buffer): Promise<void>;
}

export async function openRaw(baseUrl: string): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let data = "";
  let closed = false;
  let onStatus: (line: string) => void = () => {};
  const statusLine = new Promise<string>((resolve) => (onStatus = resolve));
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString("latin1");
    const end = data.indexOf("\r\n");
    if (end > 0) onStatus(data.slice(0, end));
  });
  const closedPromise = new Promise<void>((resolve) => {
    socket.once("close", () => {
      closed = true;
      resolve();
    });
  });
  // Writes after the server hung up fail with EPIPE/ECONNRESET; the test looks at `isClosed()` instead.
  socket.on("error", () => {});
  return {
    socket,
    received: () => data,
    statusLine,
    closed: closedPromise,
    isClosed: () => closed,
    write: (chunk) =>
      new Promise<void>((resolve) => {
        if (closed || socket.destroyed) return resolve();
        socket.write(chunk, () => resolve());
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
