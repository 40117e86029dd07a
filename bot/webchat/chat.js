// Ruhepuls web chat: with JavaScript, a press is answered in place (no page load); without it,
// the same forms post and the page reloads. Nothing is stored in the browser, no history entry
// is added, and focus moves to the new screen's heading so a screen reader reads it next.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.getAttribute("action") !== "/chat") return;
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form, event.submitter));
  let html;
  try {
    const response = await fetch("/chat", {
      method: "POST", body, credentials: "same-origin", headers: { "X-Ruhepuls-In-Place": "1" },
    });
    if (!response.ok && response.status !== 429) throw new Error(String(response.status));
    html = await response.text();
  } catch {
    form.submit(); // the plain way
    return;
  }
  const next = new DOMParser().parseFromString(html, "text/html");
  const screen = document.querySelector("#screen");
  const fresh = next.querySelector("#screen");
  if (!screen || !fresh) { document.location.replace("/chat"); return; }
  screen.replaceWith(fresh);
  document.title = next.title;
  const heading = fresh.querySelector("h1") || fresh.querySelector("[role=status]");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
});
