/* Fact-check: correcting the proposed claim split before judging. Keys on the active claim
   (when not typing): p split at the cursor of its text, m merge with the next claim, a add a
   claim after it, x delete it (again: restore); t edits its text. The rows are renumbered
   after each change (claim-text-N, claim-from-N, verdict-N, ...) and claim-count says how many
   the form sends; the server derives each claim's provenance from its text and "from". */
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const box = $("[data-claims]");
  const form = box && box.closest("form");
  const count = $("[data-claim-count]");
  if (!box || !form || !count) return;
  let proposed = [];
  try { proposed = JSON.parse(box.dataset.proposed || "[]"); } catch (_) { proposed = []; }
  const norm = (t) => String(t).replace(/\s+/g, " ").trim().replace(/[.!;]+$/, "").trim().toLowerCase();

  const rows = () => $$("[data-claim-row]", box);
  const live = () => rows().filter((r) => !r.classList.contains("is-deleted"));
  const fromOf = (row) => $("[data-claim-from]", row).value.split(",").filter((x) => x !== "").map(Number);
  const textOf = (row) => $("[data-claim-text]", row);

  function origin(row, all) {
    const src = fromOf(row);
    if (!src.length) return "added";
    if (src.length > 1) return "merged";
    if (norm(textOf(row).value) === norm(proposed[src[0]] || "")) return "";
    const same = all.filter((r) => fromOf(r).join(",") === src.join(","));
    return same.length > 1 ? "split" : "edited";
  }

  function renumber(activeRow) {
    const all = live();
    // Two passes, so no radio group ever shares a name with another for a moment (it would
    // clear a checked verdict).
    rows().forEach((row, k) => $$("[name]", row).forEach((el) => { el.name = `tmp-${k}-${el.name}`; }));
    rows().forEach((row) => {
      const at = all.indexOf(row);
      $$("[name]", row).forEach((el) => {
        const base = el.name.replace(/^tmp-\d+-/, "").replace(/^deleted-/, "").replace(/-\d+$/, "");
        if (at < 0) { el.name = `deleted-${base}`; el.disabled = true; return; }
        el.name = `${base}-${at}`;
        el.disabled = false;
      });
      $(".claim-no", row).textContent = at < 0 ? "Deleted claim (x restores it)" : `Claim ${at + 1} of ${all.length}`;
      const badge = $("[data-claim-origin]", row);
      if (badge) badge.textContent = at < 0 ? "deleted" : origin(row, all);
    });
    count.value = String(all.length);
    form.dispatchEvent(new CustomEvent("expertloop:fields", { detail: { active: activeRow || null } }));
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function fresh(template, text, src) {
    const row = template.cloneNode(true);
    row.classList.remove("is-deleted", "is-active", "is-missing");
    $$("input[type=radio]", row).forEach((r) => { r.checked = false; r.removeAttribute("data-ai-target"); });
    $$("textarea", row).forEach((t) => { t.value = ""; });
    textOf(row).value = text;
    $("[data-claim-from]", row).value = src.join(",");
    return row;
  }

  function cutAt(text, at) {
    if (at > 0 && at < text.length) return at;
    const mid = text.length / 2;  // else at the sentence or clause break nearest the middle
    const breaks = [...text.matchAll(/[.;,]\s+|\s+and\s+/g)].map((m) => m.index + m[0].length);
    const spaces = [...text.matchAll(/\s+/g)].map((m) => m.index + m[0].length);
    const near = (xs) => xs.sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid))[0];
    return near(breaks) || near(spaces) || 0;
  }

  const actions = {
    split(row) {
      const ta = textOf(row);
      const text = ta.value;
      const at = cutAt(text, ta.selectionStart === ta.selectionEnd ? ta.selectionStart : 0);
      const head = text.slice(0, at).trim(); const tail = text.slice(at).trim();
      if (!head || !tail) return row;
      ta.value = head;
      const next = fresh(row, tail, fromOf(row));
      row.after(next);
      return row;
    },
    merge(row) {
      const all = live();
      const next = all[all.indexOf(row) + 1];
      if (!next) return row;
      textOf(row).value = `${textOf(row).value.trim()} ${textOf(next).value.trim()}`.trim();
      const src = [...new Set([...fromOf(row), ...fromOf(next)])].sort((a, b) => a - b);
      $("[data-claim-from]", row).value = src.join(",");
      for (const name of ["evidence", "correction"]) {
        const mine = $(`textarea[name^="${name}-"]`, row); const theirs = $(`textarea[name^="${name}-"]`, next);
        if (mine && theirs && theirs.value.trim()) mine.value = [mine.value.trim(), theirs.value.trim()].filter(Boolean).join("\n");
      }
      next.remove();
      return row;
    },
    add(row) {
      const next = fresh(row, "", []);
      row.after(next);
      setTimeout(() => textOf(next).focus(), 0);
      return next;
    },
    delete(row) {
      row.classList.toggle("is-deleted");
      return row;
    },
  };

  function run(action, row) {
    if (row.classList.contains("is-deleted") && action !== "delete") return;
    if (action === "delete" && !row.classList.contains("is-deleted") && live().length <= 1) return; // one claim stays
    const focus = actions[action](row);
    renumber(focus);
  }

  box.addEventListener("click", (e) => {
    const button = e.target.closest("[data-claim-action]");
    if (!button) return;
    run(button.dataset.claimAction, button.closest("[data-claim-row]"));
  });
  box.addEventListener("input", (e) => {
    if (e.target.matches("[data-claim-text]")) {
      const row = e.target.closest("[data-claim-row]");
      const badge = $("[data-claim-origin]", row);
      if (badge) badge.textContent = origin(row, live());
    }
  });

  /* A draft kept in this browser (app.js saves every named field) may hold more or fewer claim
     rows than the page rendered: rebuild the rows it had, then fill them in. */
  (function restoreRows() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(form.dataset.draftKey || "") || "null"); } catch (_) { saved = null; }
    const data = saved && saved.data;
    const want = data ? parseInt(data["claim-count"], 10) : NaN;
    if (!data || !(want >= 1) || want > 200) return;
    let all = live();
    if (!all.length || want === all.length) return;
    while (all.length < want) { all[all.length - 1].after(fresh(all[all.length - 1], "", [])); all = live(); }
    while (all.length > want) { all.pop().remove(); }
    renumber(null);
    live().forEach((row) => $$("[name]", row).forEach((el) => {
      const value = data[el.name];
      if (value === undefined) return;
      if (el.type === "radio") el.checked = el.value === value; else el.value = value;
    }));
    renumber(null);
  })();

  const keys = { p: "split", m: "merge", a: "add", x: "delete" };
  const typing = (el) => !!el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable
    || (el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit", "reset", "hidden"].includes(el.type)));
  document.addEventListener("keydown", (e) => {
    const action = keys[e.key];
    if (!action || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey || e.isComposing || $("dialog[open]")) return;
    const row = $("[data-claim-row].is-active", box);
    if (!row) return;
    e.preventDefault();
    e.stopPropagation();
    run(action, row);
  }, true);
})();
