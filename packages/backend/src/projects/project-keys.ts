import { createHash, randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** Write keys are public (they sit in every page); secret keys are shown once and stored hashed. */
export const newWriteKey = () => `wk_${randomToken(24)}`;
export const newSecretKey = () => `sk_${randomToken(40)}`;
export const hashSecretKey = (key: string) => createHash("sha256").update(key).digest("hex");
