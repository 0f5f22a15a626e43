import type { WidgetMessage } from "./inbox";
import { WIDGET_CSS } from "./widget-styles";

export interface ViewHandlers {
  popupClicked(message: WidgetMessage): void;
  popupClosed(message: WidgetMessage): void;
  /** Resolves false when the reply could not be sent. */
  chatReplied(message: WidgetMessage, text: string): Promise<boolean>;
  chatClosed(messages: WidgetMessage[]): void;
}

export interface WidgetView {
  showPopup(message: WidgetMessage): void;
  popupOpen(): boolean;
  showChat(message: WidgetMessage): void;
  hasChat(id: string): boolean;
  /** Removes everything (the visitor logged out or became someone else). */
  clear(): void;
}

/**
 * Renders popups and the chat bubble inside a shadow root under one fixed host element. Every piece
 * of campaign content goes in through textContent, so markup in a campaign is shown, never run.
 */
export function createWidgetView(doc: Document, handlers: ViewHandlers): WidgetView {
  let host: HTMLElement | null = null;
  let root: ShadowRoot | null = null;
  let popup: { message: WidgetMessage; node: HTMLElement; onKey: (e: KeyboardEvent) => void } | null = null;
  let chat: { messages: WidgetMessage[]; node: HTMLElement; log: HTMLElement } | null = null;

  const el = (tag: string, className?: string, text?: string): HTMLElement => {
    const node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const ensureRoot = (): ShadowRoot => {
    if (root && host && host.isConnected) return root;
    host = doc.createElement("div");
    host.setAttribute("data-nurture-widget", "");
    // inline !important beats any non-!important page rule aimed at our host element
    const hostStyle: Array<[string, string]> = [
      ["all", "initial"],
      ["display", "block"],
      ["position", "fixed"],
      ["top", "0"],
      ["left", "0"],
      ["width", "0"],
      ["height", "0"],
      ["z-index", "2147483647"],
    ];
    for (const [name, value] of hostStyle) host.style.setProperty(name, value, "important");
    root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", undefined, WIDGET_CSS));
    (doc.body || doc.documentElement).appendChild(host);
    return root;
  };

  const closeButton = (label: string, onClick: () => void): HTMLElement => {
    const button = el("button", "close", "\u00d7");
    button.setAttribute("type", "button");
    button.setAttribute("aria-label", label);
    button.addEventListener("click", onClick);
    return button;
  };

  const removePopup = (): void => {
    if (!popup) return;
    doc.removeEventListener("keydown", popup.onKey, true);
    popup.node.remove();
    popup = null;
  };

  const removeChat = (): void => {
    if (chat) chat.node.remove();
    chat = null;
  };

  const buildChat = (first: WidgetMessage): NonNullable<typeof chat> => {
    const node = el("div", "chat");
    node.setAttribute("role", "complementary");
    node.setAttribute("aria-label", "Chat");
    const header = el("div", "chat-header");
    header.appendChild(el("span", "sender", first.content.senderName || "Support"));
    const log = el("div", "chat-log");
    log.setAttribute("aria-live", "polite");
    const form = el("form", "reply") as HTMLFormElement;
    const input = el("textarea") as HTMLTextAreaElement;
    input.setAttribute("aria-label", "Reply");
    input.setAttribute("placeholder", "Write a reply\u2026");
    input.maxLength = 4000;
    const send = el("button", undefined, "Send") as HTMLButtonElement;
    send.setAttribute("type", "submit");
    const status = el("div", "status");
    form.appendChild(input);
    form.appendChild(send);
    const state = { messages: [first], node, log };
    header.appendChild(
      closeButton("Close chat", () => {
        const shown = state.messages.slice();
        removeChat();
        handlers.chatClosed(shown);
      }),
    );
    const submit = (): void => {
      const text = input.value.trim();
      const target = state.messages[state.messages.length - 1];
      if (!text || send.disabled || !target) return;
      send.disabled = true;
      status.textContent = "";
      handlers.chatReplied(target, text).then(
        (ok) => {
          send.disabled = false;
          if (!ok) {
            status.textContent = "Your reply could not be sent. Please try again.";
            return;
          }
          input.value = "";
          const bubble = el("div", "msg msg-out");
          bubble.appendChild(el("div", "msg-text", text));
          log.appendChild(bubble);
          log.scrollTop = log.scrollHeight;
        },
        () => {
          send.disabled = false;
        },
      );
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        submit();
      }
    });
    node.appendChild(header);
    node.appendChild(log);
    node.appendChild(form);
    node.appendChild(status);
    ensureRoot().appendChild(node);
    return state;
  };

  const appendChatLine = (state: NonNullable<typeof chat>, message: WidgetMessage): void => {
    const bubble = el("div", "msg msg-in");
    bubble.setAttribute("data-message-id", message.id);
    if (message.content.senderName) bubble.appendChild(el("div", "msg-sender", message.content.senderName));
    bubble.appendChild(el("div", "msg-text", message.content.text || message.content.body || ""));
    state.log.appendChild(bubble);
    state.log.scrollTop = state.log.scrollHeight;
  };

  return {
    showPopup(message) {
      removePopup();
      const overlay = el("div", "overlay");
      const dialog = el("div", "popup");
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("data-message-id", message.id);
      const dismiss = (): void => {
        if (!popup || popup.message !== message) return;
        removePopup();
        handlers.popupClosed(message);
      };
      dialog.appendChild(closeButton("Close", dismiss));
      if (message.content.title) {
        const title = el("h2", "title", message.content.title);
        dialog.appendChild(title);
        dialog.setAttribute("aria-label", message.content.title);
      }
      if (message.content.body) dialog.appendChild(el("p", "body", message.content.body));
      if (message.content.buttonLabel || message.content.buttonUrl) {
        const cta = el("button", "cta", message.content.buttonLabel || "OK");
        cta.setAttribute("type", "button");
        cta.addEventListener("click", () => {
          removePopup();
          handlers.popupClicked(message);
        });
        dialog.appendChild(cta);
      }
      overlay.addEventListener("click", (event) => {
        if (event.target === overlay) dismiss();
      });
      overlay.appendChild(dialog);
      const onKey = (event: KeyboardEvent): void => {
        if (event.key === "Escape") dismiss();
      };
      doc.addEventListener("keydown", onKey, true);
      ensureRoot().appendChild(overlay);
      popup = { message, node: overlay, onKey };
    },
    popupOpen: () => popup !== null,
    showChat(message) {
      if (!chat) chat = buildChat(message);
      else chat.messages.push(message);
      appendChatLine(chat, message);
    },
    hasChat: (id) => chat !== null && chat.messages.some((m) => m.id === id),
    clear() {
      removePopup();
      removeChat();
    },
  };
}
