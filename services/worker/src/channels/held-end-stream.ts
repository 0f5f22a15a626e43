import { Readable } from "node:stream";

/**
 * Passes `source` through unchanged but holds back its end: only once the reader has taken every
 * byte and asks for more does it run `beforeEnd`, and it ends when that resolves (and fails the
 * stream when it rejects). In nodemailer's SMTP data phase the reader is the data stream, which
 * writes the terminating "." — the moment the server may accept the message — when this ends.
 * The tiny high-water mark keeps the bytes with the reader, not buffered here: "asks for more"
 * then means it really has them all.
 */
export function holdEnd(source: Readable, beforeEnd: () => Promise<void>): Readable {
  let sourceEnded = false;
  let waitingForSource = false;
  let ending = false;
  const out = new Readable({
    highWaterMark: 1,
    read: () => pull(),
    destroy(err, callback) {
      source.destroy(err ?? undefined);
      callback(err);
    },
  });
  const pull = (): void => {
    for (;;) {
      const chunk: unknown = source.read();
      if (chunk === null) break;
      if (!out.push(chunk)) return;
    }
    if (!sourceEnded) {
      if (!waitingForSource) {
        waitingForSource = true;
        source.once("readable", () => {
          waitingForSource = false;
          pull();
        });
      }
      return;
    }
    // The reader has not taken the last chunk yet: its next read() comes back here.
    if (ending || out.readableLength > 0) return;
    ending = true;
    beforeEnd().then(
      () => out.push(null),
      (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  };
  source.once("end", () => {
    sourceEnded = true;
    pull();
  });
  source.once("error", (err) => out.destroy(err));
  return out;
}
