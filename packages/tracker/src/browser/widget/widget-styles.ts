/** Lives inside the shadow root, so neither the page's CSS reaches in nor ours leaks out. */
export const WIDGET_CSS = `
:host{all:initial}
*{box-sizing:border-box;margin:0;padding:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;color:#1d2230}
.overlay{position:fixed;inset:0;background:rgba(15,20,30,.45);display:flex;align-items:center;justify-content:center;padding:16px;z-index:2147483647}
.popup{position:relative;background:#fff;border-radius:12px;max-width:420px;width:100%;padding:28px 24px 22px;box-shadow:0 20px 60px rgba(0,0,0,.3)}
.title{font-size:20px;font-weight:650;margin-bottom:8px;padding-right:24px}
.body{font-size:15px;white-space:pre-line;margin-bottom:18px;color:#3a4150}
.cta{display:inline-block;border:0;border-radius:8px;background:#3b5bdb;color:#fff;font-size:15px;font-weight:600;padding:10px 18px;cursor:pointer}
.cta:hover{background:#324fc2}
.close{position:absolute;top:10px;right:12px;border:0;background:none;font-size:22px;line-height:1;color:#778;cursor:pointer;padding:4px}
.close:hover{color:#222}
.chat{position:fixed;right:20px;bottom:20px;width:320px;max-width:calc(100vw - 40px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483646}
.chat-header{position:relative;background:#3b5bdb;padding:12px 40px 12px 16px}
.chat-header .sender{color:#fff;font-weight:600;font-size:15px}
.chat-header .close{color:#dfe5ff;top:6px}
.chat-log{padding:12px 14px;display:flex;flex-direction:column;gap:8px;max-height:280px;overflow-y:auto}
.msg{max-width:85%;padding:8px 12px;border-radius:12px;font-size:14px;white-space:pre-line;word-wrap:break-word}
.msg-in{background:#f0f2f7;align-self:flex-start}
.msg-out{background:#3b5bdb;align-self:flex-end}
.msg-out .msg-text{color:#fff}
.msg-sender{font-size:12px;color:#667;margin-bottom:2px}
.reply{display:flex;gap:8px;border-top:1px solid #e6e8ef;padding:10px}
.reply textarea{flex:1;resize:none;border:1px solid #d5d9e3;border-radius:8px;padding:8px;font-size:14px;height:40px}
.reply button{border:0;border-radius:8px;background:#3b5bdb;color:#fff;font-weight:600;padding:0 14px;cursor:pointer}
.reply button:disabled{opacity:.5;cursor:default}
.status{font-size:12px;color:#a33;padding:0 12px 8px}
.status:empty{display:none}
`;
