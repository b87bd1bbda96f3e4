/* expertloop pages: keyboard shortcuts, lease timer and heartbeats, drafts, ranking,
   markdown preview, dialogs. Plain JavaScript, no build step, no third-party code.
   Every page works without it; this file makes the work fast. */
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin", body,
    headers: { "X-CSRF-Token": csrf(), "X-Requested-With": "fetch", "Accept": "application/json" },
  });
  const parseTime = (iso) => Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));

  const form = $("form[data-main-form]");
  const draftKey = form && form.dataset.draftKey;
  const skip = new Set(["csrf_token", "idempotency_key", "then", "authenticity"]);
  let saveTimer = null;
  let lastInput = Date.now();

  /* ---- dialogs (guidelines drawer, shortcut sheet) ---------------------------------------- */
  function toggleDialog(id) {
    const d = document.getElementById(id);
    if (!d) return;
    if (d.open) d.close(); else { $$("dialog[open]").forEach((o) => o.close()); d.showModal(); }
  }
  document.addEventListener("click", (e) => {
    const opener = e.target.closest("[data-open]");
    if (opener) toggleDialog(opener.dataset.open);
    const closer = e.target.closest("[data-close]");
    if (closer) closer.closest("dialog").close();
    if (e.target.tagName === "DIALOG") e.target.close(); // a click on the backdrop
  });

  /* ---- questions ("fields") and the active one -------------------------------------------- */
  const usable = (el) => !el.closest("fieldset[disabled]");
  let fields = form ? $$("[data-field]", form).filter(usable) : [];
  let active = -1;
  // A page that adds or removes questions (a fact-check's claim rows) says so with this event.
  if (form) form.addEventListener("expertloop:fields", (e) => {
    fields = $$("[data-field]", form).filter(usable);
    const want = e.detail && e.detail.active ? fields.indexOf(e.detail.active) : active;
    activate(want < 0 ? 0 : want, { scroll: true });
  });

  function activate(i, { scroll = true, focus = false } = {}) {
    if (!fields.length) return;
    active = Math.max(0, Math.min(fields.length - 1, i));
    fields.forEach((f, n) => f.classList.toggle("is-active", n === active));
    const f = fields[active];
    if (scroll) f.scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (f.dataset.kind === "ranking") {
      const cards = $$(".rank-card", f);
      if (!f.contains(document.activeElement) && cards.length) cards[0].focus({ preventScroll: !scroll });
    } else if (focus) {
      const text = $("textarea, input:not([type=radio]):not([type=hidden])", f);
      if (text) text.focus();
    }
  }
  if (form) form.addEventListener("focusin", (e) => {
    const n = fields.indexOf(e.target.closest("[data-field]"));
    if (n >= 0 && active !== n) activate(n, { scroll: false });
  });

  const isTyping = (el) => !!el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable
    || (el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit", "reset", "file", "hidden"].includes(el.type)));

  function pick(field, key) {
    const input = $$("input[data-key]", field).find((i) => i.dataset.key.split(" ").includes(key) && !i.disabled);
    if (!input) return false;
    input.click();
    field.classList.remove("is-missing");
    if (input.type === "radio" && active < fields.length - 1) activate(active + 1);
    return true;
  }

  function step(field, delta) {
    const radios = $$("input[type=radio]", field).filter((i) => !i.disabled);
    if (!radios.length) return false;
    const at = radios.findIndex((r) => r.checked);
    const next = radios[Math.max(0, Math.min(radios.length - 1, at < 0 ? (delta > 0 ? 0 : radios.length - 1) : at + delta))];
    next.click();
    return true;
  }

  /* ---- submitting ------------------------------------------------------------------------- */
  function submitMain() {
    if (!form) return;
    const pending = form._pendingSubmitter;
    const button = pending || $("[data-default-submit]", form);
    if (button) form.requestSubmit(button); else form.requestSubmit();
  }

  function missingFields() {
    const missing = [];
    fields.forEach((f) => {
      const required = $$("[required]", f).filter((i) => !i.disabled);
      const empty = required.some((i) => i.type === "radio"
        ? !$$(`input[type=radio][name="${CSS.escape(i.name)}"]`, form).some((r) => r.checked)
        : !i.value.trim());
      f.classList.toggle("is-missing", empty);
      if (empty) missing.push(f);
    });
    return missing;
  }

  if (form) {
    form.addEventListener("submit", (e) => {
      const submitter = e.submitter;
      const needs = submitter && submitter.dataset.requires ? $(submitter.dataset.requires) : null;
      if (needs && !needs.value.trim()) {      // e.g. reject needs feedback
        e.preventDefault();
        form._pendingSubmitter = submitter;
        const hint = $("[data-requires-hint]"); if (hint) hint.hidden = false;
        needs.focus();
        return;
      }
      const verdict = submitter && submitter.name === "verdict" ? submitter.value : null;
      if (verdict === "accept" || verdict === "reject") return; // nothing to check in the answer
      const missing = missingFields();
      if (missing.length) {
        e.preventDefault();
        activate(fields.indexOf(missing[0]), { focus: true });
        return;
      }
      $$("button[type=submit]", form).forEach((b) => { if (b !== submitter) b.disabled = true; });
      if (submitter) setTimeout(() => { submitter.disabled = true; }, 0); // no double submit
    });
  }

  /* ---- ranking: drag and drop, buttons, keys ---------------------------------------------- */
  const rankList = $("[data-rank-list]");
  const rankStatus = $("[data-rank-status]");

  function renumber(moved) {
    if (!rankList) return;
    const cards = $$(".rank-card", rankList);
    cards.forEach((c, i) => {
      $(".rank-pos", c).textContent = String(i + 1);
      c.setAttribute("aria-label", `Answer ${c.dataset.letter}, rank ${i + 1} of ${cards.length}`);
    });
    if (moved && rankStatus) {
      rankStatus.textContent = `Answer ${moved.dataset.letter} is now rank ${cards.indexOf(moved) + 1} of ${cards.length}`;
      moved.classList.add("is-moved");
      setTimeout(() => moved.classList.remove("is-moved"), 150);
    }
    saveDraft();
  }

  function moveTo(card, pos) {
    const cards = $$(".rank-card", rankList);
    pos = Math.max(0, Math.min(cards.length - 1, pos));
    const others = cards.filter((c) => c !== card);
    if (pos >= others.length) rankList.appendChild(card); else rankList.insertBefore(card, others[pos]);
    card.focus();
    renumber(card);
  }

  if (rankList && usable(rankList)) {
    rankList.addEventListener("click", (e) => {
      const b = e.target.closest("[data-move]");
      if (!b) return;
      const card = b.closest(".rank-card");
      const at = $$(".rank-card", rankList).indexOf(card);
      moveTo(card, at + (b.dataset.move === "up" ? -1 : 1));
    });
    let dragging = null;
    rankList.addEventListener("dragstart", (e) => {
      dragging = e.target.closest(".rank-card");
      if (!dragging) return;
      dragging.classList.add("is-dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragging.dataset.index);
    });
    rankList.addEventListener("dragover", (e) => {
      if (!dragging) return;
      e.preventDefault();
      const after = $$(".rank-card:not(.is-dragging)", rankList).find((c) => {
        const box = c.getBoundingClientRect();
        return e.clientY < box.top + box.height / 2;
      });
      if (after) rankList.insertBefore(dragging, after); else rankList.appendChild(dragging);
    });
    rankList.addEventListener("dragend", () => {
      if (!dragging) return;
      dragging.classList.remove("is-dragging");
      const moved = dragging; dragging = null;
      renumber(moved);
    });
    renumber(null);
  } else if (rankList) {
    $$(".rank-card", rankList).forEach((c) => { c.draggable = false; });
  }

  function rankingKeys(e, field) {
    const cards = $$(".rank-card", field);
    let card = document.activeElement && document.activeElement.closest(".rank-card");
    if (!card) { card = cards[0]; if (card) card.focus(); }
    if (!card) return false;
    const at = cards.indexOf(card);
    const key = e.key;
    if (e.shiftKey && (key === "ArrowDown" || key === "J")) { moveTo(card, at + 1); return true; }
    if (e.shiftKey && (key === "ArrowUp" || key === "K")) { moveTo(card, at - 1); return true; }
    if (key === "ArrowDown" || key === "j") { (cards[at + 1] || card).focus(); return true; }
    if (key === "ArrowUp" || key === "k") { (cards[at - 1] || card).focus(); return true; }
    if (/^[1-9]$/.test(key) && Number(key) <= cards.length) { moveTo(card, Number(key) - 1); return true; }
    return false;
  }

  /* ---- the keyboard ----------------------------------------------------------------------- */
  document.addEventListener("keydown", (e) => {
    lastInput = Date.now();
    const target = e.target;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      if (form) { e.preventDefault(); submitMain(); }
      return;
    }
    if (isTyping(target)) {
      if (e.key === "Escape") { target.blur(); const f = target.closest("[data-field]"); if (f) f.classList.add("is-active"); }
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    const openDialog = $("dialog[open]");
    if (openDialog) {
      if (e.key === "g" && openDialog.id === "guidelines") { openDialog.close(); e.preventDefault(); }
      if (e.key === "?" && openDialog.id === "shortcuts") { openDialog.close(); e.preventDefault(); }
      return;
    }
    const key = e.key;
    if (key === "?" && $("#shortcuts")) { toggleDialog("shortcuts"); e.preventDefault(); return; }
    if (key === "g" && $("#guidelines")) { toggleDialog("guidelines"); e.preventDefault(); return; }
    const field = active >= 0 ? fields[active] : null;
    if (field && field.dataset.kind === "ranking" && rankingKeys(e, field)) { e.preventDefault(); return; }
    if (key === "j" && fields.length) { activate(active + 1); e.preventDefault(); return; }
    if (key === "k" && fields.length) { activate(active - 1); e.preventDefault(); return; }
    if (field) {
      if (key === "Enter" && field.hasAttribute("data-text") && !target.closest("button, a")) {
        activate(active, { focus: true }); e.preventDefault(); return;
      }
      if (pick(field, key)) { e.preventDefault(); return; }
      const focusTarget = $$("[data-focus-key]", field).find((el) => el.dataset.focusKey === key);
      if (focusTarget) { focusTarget.focus(); e.preventDefault(); return; }
      if ((key === "-" || key === "+" || key === "=") && step(field, key === "-" ? -1 : 1)) { e.preventDefault(); return; }
    }
    const hot = $$("[data-hotkey]").find((el) => el.dataset.hotkey === key && !el.disabled && usable(el));
    if (hot) { e.preventDefault(); hot.click(); return; }
    const focusable = $$("[data-focus-key]").find((el) => el.dataset.focusKey === key && !el.closest("[data-field]") && usable(el));
    if (focusable) { e.preventDefault(); focusable.focus(); }
  });
  document.addEventListener("input", () => { lastInput = Date.now(); });

  /* ---- drafts: kept in this browser per assignment, cleared once submitted ---------------- */
  (function clearFinished() {
    const url = new URL(location.href);
    let changed = false;
    for (const p of ["submitted", "released"]) {
      const id = url.searchParams.get(p);
      if (id) { try { localStorage.removeItem(`expertloop:draft:${id}`); } catch (_) { /* private mode */ } url.searchParams.delete(p); changed = true; }
    }
    if (changed) history.replaceState(null, "", url.pathname + (url.search || "") + url.hash);
  })();

  function serialise() {
    const data = {};
    $$("input, textarea, select", form).forEach((el) => {
      if (!el.name || skip.has(el.name) || el.type === "file") return;
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; return; }
      if (el.type === "checkbox") { if (el.checked) (data[el.name] = data[el.name] || []).push(el.value); return; }
      if (el.name === "order") { (data.order = data.order || []).push(el.value); return; }
      if (el.value) data[el.name] = el.value;
    });
    return data;
  }

  function saveDraft() {
    if (!draftKey) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      try { localStorage.setItem(draftKey, JSON.stringify({ v: 1, at: Date.now(), data: serialise() })); } catch (_) { /* full or private */ }
    }, 250);
  }

  function restoreDraft() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (_) { saved = null; }
    if (!saved || !saved.data) return false;
    const data = saved.data;
    let restored = false;
    Object.entries(data).forEach(([name, value]) => {
      if (name === "order" && rankList) {
        value.forEach((idx) => {
          const card = $(`.rank-card[data-index="${CSS.escape(String(idx))}"]`, rankList);
          if (card) rankList.appendChild(card);
        });
        renumber(null); restored = true; return;
      }
      const els = $$(`[name="${CSS.escape(name)}"]`, form);
      els.forEach((el) => {
        if (el.type === "radio") { if (el.value === value) { el.checked = true; restored = true; } }
        else if (el.type === "checkbox") { el.checked = [].concat(value).includes(el.value); restored = restored || el.checked; }
        else if (el.value !== value) { el.value = value; restored = true; }
      });
    });
    return restored;
  }

  if (draftKey) {
    if (restoreDraft()) {
      const banner = $("[data-draft-banner]");
      if (banner) banner.hidden = false;
    }
    form.addEventListener("input", saveDraft);
    form.addEventListener("change", saveDraft);
    const discard = $("[data-discard-draft]");
    if (discard) discard.addEventListener("click", () => {
      try { localStorage.removeItem(draftKey); } catch (_) { /* ignore */ }
      location.reload();
    });
  }

  /* ---- markdown preview (rendered and sanitised by the server) ----------------------------- */
  $$("textarea[data-preview]").forEach((ta) => {
    const out = $(ta.dataset.preview);
    if (!out) return;
    let t = null;
    let asked = 0;  // answers can come back out of order: only the newest request's is shown
    const render = () => {
      const body = new URLSearchParams({ text: ta.value });
      const mine = ++asked;
      post("/preview", body).then((r) => (r.ok ? r.json() : null)).then((d) => {
        if (mine !== asked) return;
        if (d && typeof d.html === "string") out.innerHTML = d.html || '<p class="muted">Your formatted answer appears here.</p>';
      }).catch(() => {});
    };
    ta.addEventListener("input", () => { clearTimeout(t); t = setTimeout(render, 250); });
    if (ta.value) render();
  });

  /* ---- lease timer and heartbeats ----------------------------------------------------------- */
  const timer = $(".timer[data-expires]");
  if (timer && form) {
    let expires = parseTime(timer.dataset.expires);
    const value = $(".timer-value", timer);
    const banner = $("[data-lease-banner]");
    const show = (msg) => { if (banner) { banner.textContent = msg; banner.hidden = false; } };
    const tick = () => {
      const left = Math.round((expires - Date.now()) / 1000);
      timer.classList.toggle("is-warning", left <= 300 && left > 0);
      timer.classList.toggle("is-expired", left <= 0);
      if (left <= 0) { value.textContent = "expired"; return; }
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      value.textContent = (h ? `${h}:${String(m).padStart(2, "0")}` : String(m)) + ":" + String(s).padStart(2, "0");
    };
    let lastBeat = Date.now();
    const beat = () => {
      const present = document.visibilityState === "visible" || Date.now() - lastInput < 120000;
      if (!present) return;
      lastBeat = Date.now();
      post(form.dataset.heartbeatUrl).then(async (r) => {
        if (r.ok) { const d = await r.json(); expires = parseTime(d.lease_expires_at); if (banner) banner.hidden = true; tick(); return; }
        if (r.status === 409) show("Your lease ran out and this item went to another expert. Your draft stays in this browser; skip to get a new task.");
        else if (r.status === 401 || r.status === 403) show("You are signed out. Sign in again in another tab to keep this task; your draft is saved.");
      }).catch(() => show("Connection lost — retrying. Your draft is saved in this browser."));
    };
    tick();
    setInterval(tick, 1000);
    setInterval(beat, 30000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && Date.now() - lastBeat > 30000) beat();
    });
  }

  /* ---- exam: countdown to the attempt's deadline, answered count ---------------------------- */
  const deadline = $(".timer[data-deadline]");
  if (deadline) {
    const ends = parseTime(deadline.dataset.deadline);
    const value = $(".timer-value", deadline);
    const tick = () => {
      const left = Math.round((ends - Date.now()) / 1000);
      deadline.classList.toggle("is-warning", left <= 120 && left > 0);
      deadline.classList.toggle("is-expired", left <= 0);
      if (left <= 0) {
        value.textContent = "0:00";
        const banner = $("[data-deadline-banner]");
        if (banner) banner.hidden = false;
        if (form) $$("button[type=submit]", form).forEach((b) => { b.disabled = true; });
        return false;
      }
      const m = Math.floor(left / 60), s = left % 60;
      value.textContent = `${m}:${String(s).padStart(2, "0")}`;
      return true;
    };
    if (tick()) { const t = setInterval(() => { if (!tick()) clearInterval(t); }, 1000); }
  }
  const answered = $("[data-answered]");
  if (answered && form) {
    const count = () => {
      const done = fields.filter((f) => {
        const names = new Set($$("input[required]", f).map((i) => i.name));
        return names.size && [...names].every((n) => $$(`[name="${CSS.escape(n)}"]`, f)
          .some((i) => (i.type === "radio" ? i.checked : i.value.trim() !== "")));
      }).length;
      answered.textContent = `${done} of ${fields.length} answered`;
    };
    form.addEventListener("change", count);
    form.addEventListener("input", count);
    count();
  }

  /* ---- project form: show the options of the chosen task type ------------------------------ */
  const typeSelect = $("select[data-task-type]");
  if (typeSelect) {
    const sync = () => $$("[data-for-type]").forEach((el) => { el.hidden = el.dataset.forType !== typeSelect.value; });
    typeSelect.addEventListener("change", sync);
    sync();
  }

  /* ---- AI suggestions: discarding one clears what it filled in, and says so on submit --------- */
  $$("[data-ai-discard]").forEach((button) => button.addEventListener("click", () => {
    const box = button.closest("[data-ai-suggestion]");
    const flag = box && $("[data-ai-discarded]", box);
    if (flag) flag.value = "1";
    $$("[data-ai-target]", form || document).forEach((el) => {
      if (el.type === "radio" || el.type === "checkbox") el.checked = false; else el.value = "";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    if (box) {
      Array.from(box.childNodes).forEach((n) => { if (n !== flag) box.removeChild(n); });
      box.append(document.createTextNode("The AI suggestion was discarded: the answer is yours alone."));
    }
  }));

  /* ---- writing-process aggregates (authenticity) -------------------------------------------
     Per free-text field, only counts and summaries: characters typed and pasted, paste events
     and their sizes, text that appeared without keystrokes, time away from the tab, and the
     pauses between keys (how many, median, 10th/90th percentile). Never which keys, never the
     pasted text. Sent with the answer in one hidden field; see the terms page. */
  if (form && form.hasAttribute("data-authenticity")) {
    const texts = $$("textarea[name]", form).filter(usable);
    const stats = new Map();
    let lastField = texts[0] || null;
    let lastKeyAt = 0;
    texts.forEach((el) => {
      const s = { typed_chars: 0, pasted_chars: 0, paste_events: 0, paste_sizes: [], inserted_without_keys: 0,
                  insert_events_without_keys: 0, keystrokes: 0, away_seconds: 0, away_events: 0, gaps: [],
                  lastLen: el.value.length, lastKey: 0 };
      stats.set(el, s);
      el.addEventListener("focus", () => { lastField = el; });
      el.addEventListener("keydown", (e) => {
        // modifier keys and shortcuts (Ctrl+V, Ctrl+Enter) are not typing
        if (["Shift", "Control", "Alt", "Meta", "CapsLock"].includes(e.key) || e.ctrlKey || e.metaKey) return;
        const now = performance.now();
        if (s.lastKey && now - s.lastKey < 5000 && s.gaps.length < 20000) s.gaps.push(now - s.lastKey);
        s.lastKey = now; lastKeyAt = now; s.keystrokes += 1;
      });
      el.addEventListener("paste", (e) => {
        const size = ((e.clipboardData && e.clipboardData.getData("text")) || "").length;
        s.paste_events += 1; s.pasted_chars += size;
        if (s.paste_sizes.length < 50) s.paste_sizes.push(size);
        s.pending = "paste";
      });
      el.addEventListener("beforeinput", (e) => {
        if (e.inputType === "insertFromPaste" || s.pending === "paste") { s.pending = "paste"; return; }
        const keyed = performance.now() - lastKeyAt < 1000 || e.inputType === "insertCompositionText";
        s.pending = keyed ? "typed" : null;
      });
      // Every change ends in an input event; one no keystroke or paste announced is counted as
      // text that appeared without keys (drag and drop, autofill, a script).
      el.addEventListener("input", () => {
        const grown = el.value.length - s.lastLen;
        if (grown > 0 && s.pending === "typed") s.typed_chars += grown;
        else if (grown > 0 && s.pending !== "paste") { s.inserted_without_keys += grown; s.insert_events_without_keys += 1; }
        s.lastLen = el.value.length; s.pending = null;
      });
    });
    let hiddenAt = null;
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) { hiddenAt = performance.now(); return; }
      if (hiddenAt !== null && lastField) {
        const s = stats.get(lastField);
        s.away_seconds += (performance.now() - hiddenAt) / 1000; s.away_events += 1;
      }
      hiddenAt = null;
    });
    const pct = (sorted, p) => sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]) : 0;
    form.addEventListener("submit", () => {
      const out = {};
      stats.forEach((s, el) => {
        const grown = el.value.length - s.lastLen;
        if (grown > 0) { s.inserted_without_keys += grown; s.insert_events_without_keys += 1; s.lastLen = el.value.length; }
        const gaps = s.gaps.slice().sort((a, b) => a - b);
        out[el.name] = { typed_chars: s.typed_chars, pasted_chars: s.pasted_chars, paste_events: s.paste_events,
          paste_sizes: s.paste_sizes, inserted_without_keys: s.inserted_without_keys,
          insert_events_without_keys: s.insert_events_without_keys, keystrokes: s.keystrokes,
          away_seconds: Math.round(s.away_seconds * 10) / 10, away_events: s.away_events, final_chars: el.value.length,
          interkey: { n: gaps.length, median_ms: pct(gaps, 0.5), p10_ms: pct(gaps, 0.1), p90_ms: pct(gaps, 0.9) } };
      });
      let hidden = $("input[name=authenticity]", form);
      if (!hidden) { hidden = document.createElement("input"); hidden.type = "hidden"; hidden.name = "authenticity"; form.appendChild(hidden); }
      hidden.value = JSON.stringify(out);
    });
  }

  /* ---- pages that follow a background job ([data-auto-refresh="seconds"]) -------------------- */
  const refresher = $("[data-auto-refresh]");
  if (refresher) {
    let edited = false;
    document.addEventListener("input", () => { edited = true; });
    const seconds = Math.max(1, Number(refresher.dataset.autoRefresh) || 3);
    const tick = () => {
      const el = document.activeElement;
      const typing = el && el.matches("input:not([type=submit]):not([type=checkbox]), textarea, select");
      if (edited || typing || $("dialog[open]")) { setTimeout(tick, seconds * 1000); return; }  // never lose what is typed
      window.location.reload();
    };
    setTimeout(tick, seconds * 1000);
  }

  /* ---- start on the first question ----------------------------------------------------------- */
  // The browser applies autofocus at its next rendering step, which can come after the page is
  // ready: keys typed in between went to the page and the first of them was lost. Focus it now.
  const autofocus = $("[autofocus]");
  if (autofocus && (!document.activeElement || document.activeElement === document.body)) autofocus.focus();
  if (fields.length) {
    const auto = fields.findIndex((f) => f.contains(document.activeElement) || $("[autofocus]", f));
    activate(auto >= 0 ? auto : 0, { scroll: false });
  }
})();

/* ---- pages waiting for a background job reload themselves ------------------------------------ */
(() => {
  const waiting = document.querySelector("[data-reload-after]");
  if (!waiting) return;
  const seconds = Math.max(1, Number(waiting.getAttribute("data-reload-after")) || 5);
  setTimeout(() => window.location.reload(), seconds * 1000);
})();
