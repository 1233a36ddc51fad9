// The language of chatkit's pages, the chat page and the teacher's page: chosen the same
// way on both, and one choice for both. Loaded before chat.js and teacher.js.
//
// The first that applies: ?lang=zh (or en) in the address; what was chosen with the
// English / 中文 switch, on either page; the server's language (the lang of the <html>
// it sent: `serve --lang zh` sends "zh-CN"); the browser's own preferences; English.
const PAGE_LANGUAGE = (() => {
  const KEY = "chatkit-language"; // localStorage: the choice, shared by both pages

  // "zh", "zh-CN" or "zh-TW" -> "zh"; "en-GB" -> "en"; a language `texts` lacks -> null.
  function spoken(tag, texts) {
    const base = String(tag || "").toLowerCase().split("-")[0];
    return Object.hasOwn(texts, base) ? base : null;
  }

  function chosenBefore() {
    try {
      return localStorage.getItem(KEY);
    } catch {
      return null; // storage refused (private mode)
    }
  }

  // The language to start in, of those `texts` (a page's catalogue) has.
  function first(texts) {
    const browser = navigator.languages || [navigator.language];
    return spoken(new URLSearchParams(location.search).get("lang"), texts)
      || spoken(chosenBefore(), texts)
      || spoken(document.documentElement.getAttribute("lang"), texts)
      || browser.map((tag) => spoken(tag, texts)).find(Boolean)
      || "en";
  }

  // Kept for next time, in this browser, for both pages. A ?lang= in the address would
  // win over the choice at the next reload: it goes.
  function remember(language) {
    try { localStorage.setItem(KEY, language); } catch { /* no storage */ }
    const query = new URLSearchParams(location.search);
    if (query.has("lang")) {
      query.delete("lang");
      const rest = query.toString();
      history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    }
  }

  return { spoken, first, remember };
})();
