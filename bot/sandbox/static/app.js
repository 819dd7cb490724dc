/*
 * The sandbox's chat page (python -m bot sandbox): plain script, no framework, no build.
 *
 * It reads one server-sent event stream (/api/events: a "snapshot", then changes) and posts
 * what a person does to /api/chats/<user_id>/{text,file,press} and /api/time-machine
 * (see bot/sandbox/web.py).
 *
 * DOM contract (the browser test relies on it; keep these selectors stable):
 *   button.tab[data-user-id="<id>"]   one tab per person; the active one has class "active"
 *   #messages                          the chat area (a file dropped on it is sent)
 *   .msg[data-message-id]              a message, class "from-bot" or "from-user";
 *   .msg .msg-text                     its text (formatting kept, links and /commands live)
 *   .msg button.inline-btn             an inline button (pressing it sends the callback)
 *   button.reply-btn                   a button of the reply keyboard (sends its text)
 *   #composer-input, #composer-send    the text field and its send button
 *   #composer-file                     file input (a photo or a document; drag and drop too)
 *   #commands-toggle, .command-item    the command menu the bot set with setMyCommands
 *   a.doc-download[download]           a document, its file name as text
 *   img.photo                          a photo (the /kpi chart)
 *   #toast                             callback answers (alerts and notifications), errors
 *   #time-machine-date, #time-machine-go   the time machine (datetime-local and its button)
 *   #bot-status                        «Бот работает» / «Бот перезапускается…» / …
 *   #sandbox-banner                    the banner saying it is a sandbox
 */
"use strict";

(() => {
  const $ = (selector) => document.querySelector(selector);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };

  const state = {
    bot: { username: "", name: "" },
    zone: "Europe/Moscow",
    tabs: [],
    active: null,
    chats: new Map(), // user_id -> Map(message_id -> view)
    keyboards: new Map(),
    commands: new Map(),
    unread: new Map(),
    drafts: new Map(),
    status: null,
    clockBase: null,
    clockAt: 0,
    typingTimer: null,
    toastTimer: null,
  };

  const saved = Number(new URLSearchParams(location.search).get("tab") || sessionStorage.getItem("tab"));

  // ------------------------------------------------------------------ events

  function connect() {
    const source = new EventSource("/api/events");
    source.onmessage = (event) => handle(JSON.parse(event.data));
    source.onerror = () => {
      setStatus({ status: "stopped", label: "Нет связи со страницей песочницы…", detail: "" });
    };
  }

  function handle(event) {
    switch (event.type) {
      case "snapshot":
        applySnapshot(event);
        break;
      case "tabs":
        state.tabs = event.tabs;
        ensureActive();
        renderTabs();
        renderChat();
        break;
      case "message":
      case "edit":
        onMessage(event.message, event.type === "edit");
        break;
      case "delete":
        chat(event.chat_id).delete(event.message_id);
        if (event.chat_id === state.active) {
          const node = findMessage(event.message_id);
          if (node) node.remove();
        }
        break;
      case "keyboard":
        state.keyboards.set(event.user_id, event.keyboard);
        if (event.user_id === state.active) renderKeyboard();
        break;
      case "commands":
        state.commands.set(event.user_id, event.commands);
        if (event.user_id === state.active && !$("#command-menu").hidden) renderCommands();
        break;
      case "alert":
        showAlert(event);
        break;
      case "typing":
        if (event.user_id === state.active) showTyping(event.action);
        break;
      case "status":
        setStatus(event);
        break;
      default:
        break;
    }
  }

  function applySnapshot(snapshot) {
    state.bot = snapshot.bot;
    state.zone = snapshot.zone;
    state.tabs = snapshot.tabs;
    state.chats = new Map();
    for (const [id, messages] of Object.entries(snapshot.chats)) {
      const map = new Map();
      for (const message of messages) map.set(message.message_id, message);
      state.chats.set(Number(id), map);
    }
    state.keyboards = new Map(Object.entries(snapshot.keyboards).map(([k, v]) => [Number(k), v]));
    state.commands = new Map(Object.entries(snapshot.commands).map(([k, v]) => [Number(k), v]));
    $("#bot-name").textContent = state.bot.name || "Бот";
    setStatus(snapshot.status);
    ensureActive();
    renderTabs();
    renderChat();
  }

  function chat(userId) {
    if (!state.chats.has(userId)) state.chats.set(userId, new Map());
    return state.chats.get(userId);
  }

  function onMessage(view, isEdit) {
    const messages = chat(view.chat_id);
    if (isEdit && !messages.has(view.message_id)) return;
    messages.set(view.message_id, view);
    if (view.chat_id !== state.active) {
      if (!isEdit && view.from === "bot") {
        state.unread.set(view.chat_id, (state.unread.get(view.chat_id) || 0) + 1);
        renderTabs();
      }
      return;
    }
    const box = $("#messages");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const existing = findMessage(view.message_id);
    if (existing) {
      existing.replaceWith(renderMessage(view));
    } else {
      const empty = box.querySelector(".empty-chat");
      if (empty) empty.remove();
      appendWithDay(box, view);
    }
    if (view.from === "bot") hideTyping();
    if (nearBottom || view.from === "user") box.scrollTop = box.scrollHeight;
  }

  function findMessage(id) {
    return $("#messages").querySelector(`.msg[data-message-id="${Number(id)}"]`);
  }

  // ------------------------------------------------------------------ tabs

  function ensureActive() {
    const ids = state.tabs.map((t) => t.user_id);
    if (ids.includes(state.active)) return;
    state.active = ids.includes(saved) ? saved : ids[0] ?? null;
  }

  function initials(tab) {
    return `${(tab.first_name || "?")[0]}${(tab.last_name || "")[0] || ""}`.toUpperCase();
  }

  function renderTabs() {
    const nav = $("#tabs");
    nav.replaceChildren();
    for (const tab of state.tabs) {
      const button = el("button", "tab");
      button.type = "button";
      button.dataset.userId = String(tab.user_id);
      button.title = `${tab.first_name} ${tab.last_name}`.trim();
      if (tab.user_id === state.active) button.classList.add("active");
      const avatar = el("span", `avatar role-${tab.role}`);
      avatar.dataset.initials = initials(tab); // drawn by CSS: the tab's text is its label
      button.append(avatar, el("span", "tab-label", tab.label));
      const unread = state.unread.get(tab.user_id);
      if (unread) button.append(el("span", "badge", String(unread)));
      button.addEventListener("click", () => switchTab(tab.user_id));
      nav.append(button);
    }
    const me = state.tabs.find((t) => t.user_id === state.active);
    $("#who-am-i").textContent = me ? `Вы: ${me.first_name} ${me.last_name}`.trim() : "";
  }

  function switchTab(userId) {
    if (userId === state.active) return;
    state.drafts.set(state.active, $("#composer-input").value);
    state.active = userId;
    sessionStorage.setItem("tab", String(userId));
    state.unread.delete(userId);
    $("#composer-input").value = state.drafts.get(userId) || "";
    closeCommands();
    hideTyping();
    renderTabs();
    renderChat();
  }

  // ------------------------------------------------------------------ chat

  function renderChat() {
    const box = $("#messages");
    box.replaceChildren();
    const messages = state.active === null ? [] : [...chat(state.active).values()];
    if (!messages.length) {
      const hint = el("div", "empty-chat");
      hint.append(linkify(emptyHint())); // its /commands send, as in a message
      box.append(hint);
    }
    for (const view of messages) appendWithDay(box, view);
    box.scrollTop = box.scrollHeight;
    renderKeyboard();
  }

  const HINTS = {
    officer: "Вы — офицер отдела образования. Попробуйте /kpi, /pairs, /export или /invite reservist.",
    reservist: "Вы — резервист с планом на год. Попробуйте /plan или /log.",
    mentor: "Вы — наставник. Попробуйте /mentees; консультации ждут вашего подтверждения.",
    newcomer:
      "Вы ещё не зарегистрированы. Получите ссылку-приглашение во вкладке офицера " +
      "(/invite reservist), вставьте её сюда и нажмите на неё.",
  };

  function emptyHint() {
    if (!state.tabs.length) return "Загружается демо-район…";
    const tab = state.tabs.find((t) => t.user_id === state.active);
    const role = tab ? HINTS[tab.role] : "";
    return `Сообщений пока нет. ${role || "Отправьте /start или выберите команду в меню ☰."}`;
  }

  function appendWithDay(box, view) {
    const last = [...box.querySelectorAll(".msg")].pop();
    const lastDay = last ? last.dataset.day : null;
    if (view.day && view.day !== lastDay) box.append(el("div", "day-sep", view.day));
    box.append(renderMessage(view));
  }

  function renderMessage(view) {
    const node = el("div", `msg from-${view.from === "bot" ? "bot" : "user"}`);
    node.dataset.messageId = String(view.message_id);
    node.dataset.day = view.day || "";
    const bubble = el("div", "bubble");
    if (view.media) bubble.append(renderMedia(view.media));
    const text = el("div", "msg-text");
    if (view.html !== null && view.html !== undefined) {
      text.append(renderHtml(view.html));
    } else {
      text.append(linkify(view.text || ""));
    }
    bubble.append(text);
    bubble.append(el("div", "msg-meta", `${view.edited ? "изменено " : ""}${view.time || ""}`));
    node.append(bubble);
    if (view.buttons && view.buttons.length) node.append(renderInline(view));
    return node;
  }

  function renderMedia(media) {
    const url = `/api/files/${encodeURIComponent(media.file_id)}`;
    if (media.kind === "photo") {
      const img = el("img", "photo");
      img.src = url;
      img.alt = "Фото";
      img.loading = "lazy";
      img.addEventListener("click", () => window.open(url, "_blank", "noopener"));
      return img;
    }
    const box = el("div", "doc");
    const extension = (media.file_name.match(/\.([a-z0-9]{1,5})$/i) || [null, "файл"])[1];
    box.append(el("div", "doc-icon", extension.toUpperCase()));
    const info = el("div", "doc-info");
    const link = el("a", "doc-download", media.file_name);
    link.href = `${url}?download=1`;
    link.download = media.file_name;
    info.append(link, el("div", "doc-size", formatSize(media.size)));
    box.append(info);
    return box;
  }

  function formatSize(size) {
    if (!size && size !== 0) return "";
    if (size < 1024) return `${size} Б`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(1).replace(".", ",")} КБ`;
    return `${(size / 1024 / 1024).toFixed(1).replace(".", ",")} МБ`;
  }

  function renderInline(view) {
    const keyboard = el("div", "inline-keyboard");
    view.buttons.forEach((row, r) => {
      const line = el("div", "row");
      row.forEach((button, c) => {
        const node = el("button", `inline-btn ${button.kind}`, button.text);
        node.type = "button";
        node.addEventListener("click", () => pressInline(view, button, r, c, node));
        line.append(node);
      });
      keyboard.append(line);
    });
    return keyboard;
  }

  async function pressInline(view, button, row, column, node) {
    if (button.kind === "url") {
      openLink(button.url);
      return;
    }
    if (button.kind !== "callback") {
      toast("Эта кнопка в песочнице не работает.");
      return;
    }
    node.classList.add("pressed");
    setTimeout(() => node.classList.remove("pressed"), 800);
    await post(`/api/chats/${state.active}/press`, { message_id: view.message_id, row, column });
  }

  // Telegram's HTML subset, rebuilt element by element: nothing else reaches the page.
  const TAGS = {
    b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u", s: "s", strike: "s", del: "s",
    code: "code", pre: "pre", blockquote: "blockquote",
  };

  function renderHtml(html) {
    const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    return convert(doc.body);
  }

  function convert(parent) {
    const out = document.createDocumentFragment();
    for (const node of parent.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        out.append(linkify(node.textContent));
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = node.tagName.toLowerCase();
      let target;
      if (tag === "a") {
        const href = node.getAttribute("href") || "";
        target = el("a");
        if (/^(https?:|tg:)/i.test(href)) {
          target.href = href;
          target.target = "_blank";
          target.rel = "noopener noreferrer";
        }
        target.append(convert(node));
        out.append(target);
        continue;
      }
      if (tag === "tg-spoiler" || (tag === "span" && node.classList.contains("tg-spoiler"))) {
        target = el("span", "spoiler");
        target.addEventListener("click", () => target.classList.add("revealed"));
      } else if (TAGS[tag]) {
        target = el(TAGS[tag]);
      } else {
        out.append(convert(node));
        continue;
      }
      target.append(convert(node));
      out.append(target);
    }
    return out;
  }

  const LINKS = /(https?:\/\/[^\s<>"']+|(?:^|(?<=[\s(]))t\.me\/[^\s<>"']+|(?:^|(?<=[\s(«]))\/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]+)?(?=$|[\s.,!?;:)»]))/g;

  function linkify(text) {
    const out = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(LINKS)) {
      let found = match[0];
      const trail = found.match(/[.,!?;:)»]+$/);
      if (trail && !found.startsWith("/")) found = found.slice(0, -trail[0].length);
      if (match.index > last) out.append(text.slice(last, match.index));
      const link = el("a", found.startsWith("/") ? "cmd" : "", found);
      if (found.startsWith("/")) {
        link.href = "#";
        link.dataset.command = found.split("@")[0];
      } else {
        link.href = found.startsWith("http") ? found : `https://${found}`;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      }
      out.append(link);
      last = match.index + found.length;
    }
    if (last < text.length) out.append(text.slice(last));
    return out;
  }

  // A link to this bot with ?start=CODE (an invite) is opened as Telegram does: "/start CODE"
  // from the person of the active tab.
  function startParameter(href) {
    let url;
    try {
      url = new URL(href, location.href);
    } catch (error) {
      return null;
    }
    if (!["t.me", "telegram.me", "www.t.me"].includes(url.hostname)) return null;
    const name = url.pathname.replace(/^\/+|\/+$/g, "");
    if (!state.bot.username || name.toLowerCase() !== state.bot.username.toLowerCase()) return null;
    return url.searchParams.has("start") ? url.searchParams.get("start") : "";
  }

  function openLink(href) {
    const start = startParameter(href);
    if (start !== null) {
      sendText(start ? `/start ${start}` : "/start");
      return;
    }
    window.open(href, "_blank", "noopener");
  }

  $("#messages").addEventListener("click", (event) => {
    const link = event.target.closest("a");
    if (!link || link.classList.contains("doc-download")) return;
    if (link.dataset.command) {
      event.preventDefault();
      sendText(link.dataset.command);
      return;
    }
    if (link.href && startParameter(link.href) !== null) {
      event.preventDefault();
      openLink(link.href);
    }
  });

  // ------------------------------------------------------------------ keyboards and menus

  function renderKeyboard() {
    const box = $("#reply-keyboard");
    const keyboard = state.keyboards.get(state.active);
    box.replaceChildren();
    box.hidden = !keyboard || !keyboard.rows.length;
    if (box.hidden) {
      $("#composer-input").placeholder = "Сообщение";
      return;
    }
    $("#composer-input").placeholder = keyboard.placeholder || "Сообщение";
    for (const row of keyboard.rows) {
      const line = el("div", "row");
      for (const text of row) {
        const button = el("button", "reply-btn", text);
        button.type = "button";
        button.addEventListener("click", () => sendText(text, true));
        line.append(button);
      }
      box.append(line);
    }
  }

  function renderCommands() {
    const menu = $("#command-menu");
    menu.replaceChildren();
    const commands = state.commands.get(state.active) || [];
    if (!commands.length) {
      menu.append(el("div", "command-item", "Бот ещё не задал меню команд."));
      return;
    }
    for (const command of commands) {
      const item = el("button", "command-item");
      item.type = "button";
      item.dataset.command = `/${command.command}`;
      item.append(el("span", "cmd-name", `/${command.command}`), el("span", "cmd-desc", command.description));
      item.addEventListener("click", () => {
        closeCommands();
        sendText(`/${command.command}`);
      });
      menu.append(item);
    }
  }

  function closeCommands() {
    $("#command-menu").hidden = true;
    $("#commands-toggle").setAttribute("aria-expanded", "false");
  }

  $("#commands-toggle").addEventListener("click", () => {
    const menu = $("#command-menu");
    if (menu.hidden) {
      renderCommands();
      menu.hidden = false;
      $("#commands-toggle").setAttribute("aria-expanded", "true");
    } else {
      closeCommands();
    }
  });

  // ------------------------------------------------------------------ sending

  async function post(url, body) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return await answer(response);
    } catch (error) {
      toast("Песочница не отвечает.", "error");
      return null;
    }
  }

  async function answer(response) {
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      toast((data && data.error) || `Ошибка ${response.status}`, "error");
      return null;
    }
    return data;
  }

  async function sendText(text, fromKeyboard = false) {
    if (state.active === null || !text.trim()) return;
    await post(`/api/chats/${state.active}/text`, { text, keyboard: fromKeyboard });
  }

  async function sendFile(file) {
    if (state.active === null || !file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    const caption = $("#composer-input").value.trim();
    if (caption) form.append("caption", caption);
    $("#composer-input").value = "";
    try {
      const response = await fetch(`/api/chats/${state.active}/file`, { method: "POST", body: form });
      await answer(response);
    } catch (error) {
      toast("Песочница не отвечает.", "error");
    }
  }

  $("#composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#composer-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    closeCommands();
    await sendText(text);
    input.focus();
  });

  $("#composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#composer").requestSubmit();
    }
  });

  function autosize() {
    const input = $("#composer-input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
  }
  $("#composer-input").addEventListener("input", autosize);

  $("#composer-file").addEventListener("change", async (event) => {
    const files = [...event.target.files];
    event.target.value = "";
    for (const file of files) await sendFile(file);
  });

  const drop = $("#messages");
  let dragDepth = 0;
  drop.addEventListener("dragenter", (event) => {
    event.preventDefault();
    dragDepth += 1;
    drop.classList.add("dragging");
    $("#drop-hint").hidden = false;
  });
  drop.addEventListener("dragover", (event) => event.preventDefault());
  drop.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) {
      drop.classList.remove("dragging");
      $("#drop-hint").hidden = true;
    }
  });
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    dragDepth = 0;
    drop.classList.remove("dragging");
    $("#drop-hint").hidden = true;
    for (const file of event.dataTransfer.files) await sendFile(file);
  });

  // ------------------------------------------------------------------ status, clock, time machine

  function setStatus(status) {
    state.status = status;
    const node = $("#bot-status");
    node.textContent = status.detail ? `${status.label} ${status.detail}` : status.label;
    node.className = `status-${status.status}`;
    $("#time-machine-go").disabled = status.status === "restarting" || status.status === "starting";
    if (status.clock) {
      state.clockBase = Date.parse(status.clock);
      state.clockAt = Date.now();
      const input = $("#time-machine-date");
      if (!input.value || status.status === "running") input.value = localInput(botNow());
    }
    renderClock();
  }

  function botNow() {
    return new Date(state.clockBase + (Date.now() - state.clockAt));
  }

  function parts(date) {
    const format = new Intl.DateTimeFormat("ru-RU", {
      timeZone: state.zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    const out = {};
    for (const part of format.formatToParts(date)) out[part.type] = part.value;
    return out;
  }

  function localInput(date) {
    const p = parts(date);
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }

  function renderClock() {
    if (state.clockBase === null) return;
    const label = new Intl.DateTimeFormat("ru-RU", {
      timeZone: state.zone, day: "numeric", month: "long", year: "numeric",
      hour: "2-digit", minute: "2-digit",
    }).format(botNow());
    $("#bot-clock").replaceChildren(el("span", "clock-prefix", "Часы бота: "), label);
  }
  setInterval(renderClock, 15000);

  $("#time-machine").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#time-machine-date").value;
    if (!value) return;
    $("#time-machine-go").disabled = true;
    const result = await post("/api/time-machine", { at: value });
    if (result) toast("Часы бота переставлены; бот перезапускается и проверяет напоминания.");
    else $("#time-machine-go").disabled = false;
  });

  // ------------------------------------------------------------------ typing, toasts

  const ACTIONS = {
    typing: "печатает…",
    upload_document: "отправляет файл…",
    upload_photo: "отправляет фото…",
  };

  function showTyping(action) {
    const node = $("#typing");
    node.textContent = ACTIONS[action] || "…";
    node.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 5000);
  }

  function hideTyping() {
    $("#typing").hidden = true;
  }

  function showAlert(event) {
    const tab = state.tabs.find((t) => t.user_id === event.user_id);
    const who = event.user_id !== state.active && tab ? `${tab.label}: ` : "";
    toast(`${who}${event.text}`, event.show_alert ? "alert" : "");
  }

  function toast(text, kind = "") {
    const node = $("#toast");
    clearTimeout(state.toastTimer);
    node.replaceChildren(el("div", "toast-text", text));
    node.className = kind;
    node.hidden = false;
    if (kind === "alert") {
      const ok = el("button", "toast-ok", "OK");
      ok.type = "button";
      ok.addEventListener("click", () => {
        node.hidden = true;
      });
      node.append(ok);
      ok.focus();
    } else {
      state.toastTimer = setTimeout(() => {
        node.hidden = true;
      }, 3500);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeCommands();
      $("#toast").hidden = true;
    }
  });

  connect();
})();
