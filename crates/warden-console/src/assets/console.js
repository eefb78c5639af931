// Warden console: the only script. Pages work without it; it loads tree
// branches when they are opened and copies text to the clipboard.
"use strict";
document.addEventListener("toggle", async (event) => {
  const d = event.target;
  if (!(d instanceof HTMLDetailsElement) || !d.open || !d.dataset.src || d.dataset.loaded) return;
  d.dataset.loaded = "1";
  const slot = d.querySelector("[data-slot]");
  try {
    const r = await fetch(d.dataset.src, { credentials: "same-origin", headers: { accept: "text/html" } });
    slot.innerHTML = r.ok ? await r.text() : "<p class='error'>Could not load (" + r.status + ").</p>";
  } catch (e) {
    slot.textContent = "Could not load.";
  }
}, true);
document.addEventListener("click", async (event) => {
  const b = event.target.closest("[data-copy]");
  if (!b) return;
  const source = document.getElementById(b.dataset.copy);
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    b.textContent = "Copied";
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents(source);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
});
