// photocap serve: the keyboard (/ focuses search, arrows move through results or the review list, Enter opens,
// Esc goes back) and editing in place through the JSON API. The pages work without it.
"use strict";

function typing(target) {
  return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function resultLinks() {
  return Array.from(document.querySelectorAll("a[data-result]"));
}

function columns(links) {
  if (links.length < 2) return 1;
  const top = links[0].getBoundingClientRect().top;
  const sameRow = links.filter((link) => Math.abs(link.getBoundingClientRect().top - top) < 4);
  return Math.max(1, sameRow.length);
}

function moveThroughResults(key) {
  const links = resultLinks();
  if (!links.length) return false;
  const at = links.indexOf(document.activeElement);
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(links), ArrowUp: -columns(links) }[key];
  const next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
  links[next].focus();
  links[next].scrollIntoView({ block: "nearest" });
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const search = document.getElementById("q");
  if (event.key === "/" && !typing(event.target)) {
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else {
      window.location.href = "/";
    }
    return;
  }
  if (event.key === "Escape") {
    if (typing(event.target)) {
      event.target.blur();
      return;
    }
    const back = document.getElementById("back");
    if (back) window.location.href = back.href;
    return;
  }
  if (typing(event.target)) return;
  if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) {
    if (["search-page", "review-page"].some((name) => document.body.classList.contains(name))) {
      if (moveThroughResults(event.key)) event.preventDefault();
      return;
    }
    const link = document.querySelector(`a[data-key="${event.key}"]`);
    if (link) {
      event.preventDefault();
      window.location.href = link.href;
    }
  }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy"));
  else { document.execCommand("copy"); done(); }
});

// Saving in place: the form posts JSON to /api/photos/<id> with the page's CSRF token; the page then shows the
// photo as the server now has it (a full reload keeps one way of drawing it).
const editForm = document.querySelector("form.edit[data-photo]");
if (editForm) {
  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const tags = editForm.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean);
    const response = await fetch(`/api/photos/${editForm.dataset.photo}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ caption: editForm.caption.value, tags }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ error: response.statusText }));
      let note = editForm.querySelector(".note");
      if (!note) {
        note = document.createElement("p");
        note.className = "note";
        note.setAttribute("role", "alert");
        editForm.append(note);
      }
      note.textContent = problem.error || "the edit was refused";
      return;
    }
    const { notes } = await response.json();
    const url = new URL(window.location.href);
    url.searchParams.delete("note");
    for (const note of notes) url.searchParams.append("note", note);
    window.location.replace(url.toString());
  });
}
