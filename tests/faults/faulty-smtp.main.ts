// The faulty SMTP server in a process of its own (see faulty-smtp-process.ts): started by fork with
// its rules as JSON in argv[2], answers requests from its parent over IPC.
import { rulePlan, startFaultySmtp, type FaultRule } from "./faulty-smtp";
import type { SmtpRequest } from "./faulty-smtp-process";

const smtp = await startFaultySmtp(rulePlan(JSON.parse(process.argv[2] ?? "[]") as FaultRule[]));
process.on("message", (request: SmtpRequest) => {
  if (request.type === "rules") smtp.setPlan(rulePlan(request.rules));
  process.send!({ id: request.id, copies: request.type === "copies" ? smtp.copies : [], faults: smtp.faults });
});
// The parent is gone (or closed the channel): nothing else keeps this server alive.
process.on("disconnect", () => void smtp.close().then(() => process.exit(0)));
process.send!({ id: 0, url: smtp.url });
