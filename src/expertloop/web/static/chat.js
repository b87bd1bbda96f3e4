/* expertloop live chat: the conversation kept by the server, the trainer's actions, polling
   while the model answers. Every text arrives as HTML rendered and sanitised by the server
   (*_html); this script never turns text into HTML itself. Keys: m write, Ctrl+Enter send,
   1-4 choose, r rewrite, Shift+R new answers / retry, e edit your last message, + / - rate. */
(() => {
  "use strict";
  const root = document.querySelector("[data-chat]");
  if (!root) return;
  const $ = (sel, el = document) => el.querySelector(sel);
  const url = root.dataset.chatUrl;
  const log = $("[data-chat-log]", root);
  const status = $("[data-chat-status]", root);
  const input = $("[data-chat-input]", root);
  const sendBtn = $("[data-chat-send]", root);
  const cancelEdit = $("[data-chat-cancel-edit]", root);
  const composerLabel = $("[data-chat-composer-label]", root);
  const failure = {
    turn: $('[data-chat-failure="turn"]'), category: $('[data-chat-failure="category"]'),
    note: $('[data-chat-failure="note"]'),
  };
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  let state = null;
  let editing = null;      // index of the user turn being edited
  let rewriting = null;    // index of the assistant turn being rewritten
  let pollTimer = null;
  let waitingSince = null;
  let busy = false;

  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    Object.entries(attrs).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "html") e.innerHTML = v;   // server-sanitised HTML only
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    });
    children.forEach((c) => c && e.appendChild(c));
    return e;
  };
  const letter = (i) => "ABCD"[i] || String(i + 1);
  const say = (msg, kind) => { status.textContent = msg || ""; status.dataset.kind = kind || ""; };

  async function call(body) {
    const opts = { credentials: "same-origin", headers: { "X-Requested-With": "fetch", "Accept": "application/json", "X-CSRF-Token": csrf() } };
    if (body) { opts.method = "POST"; opts.body = new URLSearchParams(body); }
    const r = await fetch(url, opts);
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const detail = (data.errors && data.errors.length) ? data.errors.map((p) => `${p.loc}: ${p.msg}`).join("; ") : data.detail;
      throw new Error(detail || `The server answered ${r.status}`);
    }
    return data;
  }

  async function act(body) {
    if (busy) return null;
    busy = true;
    try {
      const data = await call(body);
      show(data);
      return data;
    } catch (err) {
      say(err.message + " Nothing you wrote is lost.", "error");
      return null;
    } finally { busy = false; }
  }

  function lastIndex() { return state && state.turns.length ? state.turns.length - 1 : -1; }

  function show(data) {
    state = data;
    render();
    clearTimeout(pollTimer);
    if (data.pending) {
      waitingSince = waitingSince || Date.now();
      const secs = Math.round((Date.now() - waitingSince) / 1000);
      say(`The model is answering… ${secs} s`, "pending");
      pollTimer = setTimeout(() => call().then(show).catch(() => { pollTimer = setTimeout(() => call().then(show), 2000); }), 800);
    } else {
      waitingSince = null;
      const last = data.turns[lastIndex()];
      if (last && last.status === "error") say("The model did not answer. Press Shift+R or Retry.", "error");
      else if (last && last.candidates.length > 1 && last.chosen === null && !last.rewrite) say("Choose the best answer (1–" + last.candidates.length + ") or rewrite it (r).", "");
      else say(data.turns.length >= data.max_turns ? "The conversation has reached its last turn: submit it." : "", "");
    }
  }

  function render() {
    log.textContent = "";
    const last = lastIndex();
    if (state.system_prompt) {
      log.appendChild(el("div", { class: "chat-msg chat-system" }, el("div", { class: "chat-role", text: "System prompt" }),
        el("div", { class: "md", text: state.system_prompt })));
    }
    if (!state.turns.length) log.appendChild(el("p", { class: "muted", text: "Write the first message to start the conversation." }));
    state.turns.forEach((t, i) => {
      const isLast = i === last;
      const userMsg = el("div", { class: "chat-msg chat-user" + (editing === i ? " is-editing" : ""), "data-turn": i },
        el("div", { class: "chat-role" }, document.createTextNode(`You · turn ${i + 1} `),
          el("button", { type: "button", class: "btn btn-link btn-sm", "data-chat-edit": i, "data-hotkey": isLast ? "e" : null,
            onclick: () => startEdit(i), text: "Edit" + (isLast ? " (e)" : "") })),
        el("div", { class: "md", html: t.user_html }));
      log.appendChild(userMsg);
      const box = el("div", { class: "chat-answers", "data-answers": i });
      if (t.status === "pending") {
        box.appendChild(el("div", { class: "chat-msg chat-assistant is-pending", role: "status" },
          document.createTextNode("The model is answering… "),
          el("button", { type: "button", class: "btn btn-link btn-sm", "data-chat-retry": i, "data-hotkey": isLast ? "R" : null,
            onclick: () => act({ action: "regenerate", turn: i }), text: "Ask again" + (isLast ? " (Shift+R)" : "") })));
      } else if (t.status === "error") {
        box.appendChild(el("div", { class: "chat-msg chat-error", role: "alert" }, el("p", { text: t.error || "The model did not answer." }),
          el("button", { type: "button", class: "btn btn-secondary btn-sm", "data-chat-retry": i, "data-hotkey": isLast ? "R" : null,
            onclick: () => act({ action: "regenerate", turn: i }), text: "Retry" + (isLast ? " (Shift+R)" : "") })));
      } else {
        const many = t.candidates.length > 1;
        t.candidates.forEach((c, j) => {
          const chosen = t.chosen === j;
          const head = el("div", { class: "chat-role" }, document.createTextNode(many ? `Answer ${letter(j)}` : "Answer"));
          if (many) {
            head.appendChild(el("button", { type: "button", class: "btn btn-sm " + (chosen ? "btn-primary" : "btn-ghost"),
              "aria-pressed": chosen ? "true" : "false", "data-chat-choose": `${i}:${j}`,
              "data-hotkey": isLast && j < 9 ? String(j + 1) : null,
              onclick: () => act({ action: "decide", turn: i, chosen: chosen ? "" : j }),
              text: (chosen ? "Chosen" : "Choose") + (isLast ? ` (${j + 1})` : "") }));
          }
          box.appendChild(el("div", { class: "chat-msg chat-assistant" + (chosen ? " is-chosen" : "") + (t.rewrite ? " is-replaced" : ""),
            "data-candidate": `${i}:${j}` }, head, el("div", { class: "md", html: c.html })));
        });
        if (t.rewrite && rewriting !== i) {
          box.appendChild(el("div", { class: "chat-msg chat-rewrite", "data-rewrite": i }, el("div", { class: "chat-role", text: "Your rewrite (the answer the conversation goes on from)" }),
            el("div", { class: "md", html: t.rewrite_html })));
        }
        if (rewriting === i) box.appendChild(rewriteEditor(t, i));
        const tools = el("div", { class: "chat-tools" });
        tools.appendChild(el("span", { class: "muted small", text: "Rating:" }));
        for (let r = 1; r <= 5; r++) {
          tools.appendChild(el("button", { type: "button", class: "btn btn-sm " + (t.rating === r ? "btn-primary" : "btn-ghost"),
            "aria-pressed": t.rating === r ? "true" : "false", "aria-label": `Rate ${r} of 5`, "data-chat-rate": `${i}:${r}`,
            onclick: () => act({ action: "decide", turn: i, rating: t.rating === r ? "" : r }), text: String(r) }));
        }
        if (rewriting !== i) {
          tools.appendChild(el("button", { type: "button", class: "btn btn-secondary btn-sm", "data-chat-rewrite": i, "data-hotkey": isLast ? "r" : null,
            onclick: () => { rewriting = i; render(); const ta = $(`[data-rewrite-input="${i}"]`); if (ta) ta.focus(); },
            text: (t.rewrite ? "Edit the rewrite" : "Rewrite") + (isLast ? " (r)" : "") }));
        }
        tools.appendChild(el("button", { type: "button", class: "btn btn-ghost btn-sm", "data-chat-regenerate": i, "data-hotkey": isLast ? "R" : null,
          onclick: () => act({ action: "regenerate", turn: i }), text: "New answers" + (isLast ? " (Shift+R)" : "") }));
        if (isLast) {
          tools.appendChild(el("button", { type: "button", hidden: true, "data-hotkey": "+", onclick: () => rate(i, 1) }));
          tools.appendChild(el("button", { type: "button", hidden: true, "data-hotkey": "-", onclick: () => rate(i, -1) }));
        }
        box.appendChild(tools);
      }
      log.appendChild(box);
    });
    syncFailure();
    const full = state.turns.length >= state.max_turns && editing === null;
    sendBtn.disabled = state.pending || full;
    input.disabled = full;
    composerLabel.textContent = editing === null ? "Your message" : `Your new message for turn ${editing + 1} (the turns after it are dropped)`;
    cancelEdit.hidden = editing === null;
  }

  function rate(i, delta) {
    const t = state.turns[i];
    const next = Math.max(1, Math.min(5, (t.rating || 3) + (t.rating ? delta : 0)));
    act({ action: "decide", turn: i, rating: next });
  }

  function rewriteEditor(t, i) {
    const current = t.rewrite || (t.candidates[t.chosen === null ? 0 : t.chosen] || {}).text || "";
    const ta = el("textarea", { rows: 8, class: "chat-rewrite-input", "data-rewrite-input": i, "aria-label": `Rewrite the answer to turn ${i + 1}` });
    ta.value = current;
    const save = () => act({ action: "decide", turn: i, rewrite: ta.value }).then((d) => { if (d) { rewriting = null; render(); } });
    const cancel = () => { rewriting = null; render(); };
    ta.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); e.stopPropagation(); save(); }
      else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); cancel(); }
    });
    const note = i < lastIndex() ? el("p", { class: "muted small", text: "Saving a changed answer drops the turns after it." }) : null;
    return el("div", { class: "chat-msg chat-rewrite is-editing" }, el("div", { class: "chat-role", text: "Rewrite the answer (Ctrl+Enter saves, Esc cancels)" }), ta, note,
      el("div", { class: "chat-tools" }, el("button", { type: "button", class: "btn btn-primary btn-sm", "data-chat-save-rewrite": i, onclick: save, text: "Save the rewrite" }),
        el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: cancel, text: "Cancel" }),
        t.rewrite ? el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => { ta.value = ""; save(); }, text: "Remove the rewrite" }) : null));
  }

  function startEdit(i) {
    editing = i;
    input.value = state.turns[i].user;
    render();
    input.focus();
  }

  async function send() {
    const text = input.value;
    if (!text.trim()) { input.focus(); say("Write a message first.", "error"); return; }
    const body = { action: "send", text };
    if (editing !== null) body.at = editing;
    const data = await act(body);
    if (data) {       // only now is the text safely on the server
      input.value = "";
      input.dispatchEvent(new Event("input", { bubbles: true }));   // the browser draft forgets it too
      editing = null;
      render();
    }
  }

  function syncFailure() {
    if (!failure.turn) return;
    const keep = state.failure ? String(state.failure.turn) : failure.turn.value;
    failure.turn.querySelectorAll("option[value]:not([value=''])").forEach((o) => o.remove());
    state.turns.forEach((t, i) => { if (t.status === "ready") failure.turn.appendChild(el("option", { value: String(i), text: `Turn ${i + 1}` })); });
    failure.turn.value = Array.from(failure.turn.options).some((o) => o.value === keep) ? keep : "";
    if (state.failure) {
      failure.category.value = state.failure.category || "";
      if (document.activeElement !== failure.note) failure.note.value = state.failure.note || "";
    }
  }

  function saveFailure() {
    if (!failure.turn.value) { act({ action: "failure", turn: "" }); return; }
    if (!failure.category.value) return;   // saved once both are given
    act({ action: "failure", turn: failure.turn.value, category: failure.category.value, note: failure.note.value });
  }
  if (failure.turn) {
    failure.turn.addEventListener("change", saveFailure);
    failure.category.addEventListener("change", saveFailure);
    failure.note.addEventListener("change", saveFailure);
  }

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); e.stopPropagation(); send(); }
  });
  sendBtn.addEventListener("click", send);
  cancelEdit.addEventListener("click", () => { editing = null; input.value = ""; render(); });

  call().then(show).catch((err) => { log.textContent = ""; say(err.message + " Reload the page to try again.", "error"); });
})();
