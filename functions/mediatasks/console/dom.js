// Elements built from data, never from HTML strings: a task's fields are text wherever they show.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function announce(text) {
  document.getElementById("announcer").textContent = text;
}

const UNITS = [
  ["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1],
];
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

// Epoch milliseconds as "3 minutes ago", the exact time in its title and datetime.
export function when(milliseconds) {
  if (milliseconds === null || milliseconds === undefined) return h("span", {}, "—");
  const seconds = Math.round((milliseconds - Date.now()) / 1000);
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) || ["second", 1];
  const iso = new Date(milliseconds).toISOString();
  return h("time", { datetime: iso, title: iso }, relative.format(Math.round(seconds / size), unit));
}

export function duration(start, end) {
  if (!start || !end) return "—";
  const seconds = (end - start) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, status);
}

// Polls `load` until `stop` is called: every `fastest` ms while what it returns changes, doubling
// up to `slowest` while it does not or while the API refuses (a 429 included), paused while the
// page is hidden. `load` returns a fingerprint of what it showed.
export function poll(load, { fastest = 1000, slowest = 8000 } = {}) {
  let delay = fastest;
  let timer = null;
  let stopped = false;
  let last = null;
  async function tick() {
    if (stopped) return;
    if (document.hidden) { timer = setTimeout(tick, fastest); return; }
    try {
      const fingerprint = await load();
      delay = fingerprint === last ? Math.min(delay * 2, slowest) : fastest;
      last = fingerprint;
    } catch (error) {
      delay = Math.min(delay * 2, slowest);
    }
    if (!stopped) timer = setTimeout(tick, delay);
  }
  timer = setTimeout(tick, 0);
  return () => { stopped = true; clearTimeout(timer); };
}
