// Previews of a File: a player for video and audio (HLS through the vendored hls.js where the
// browser has no native HLS), an image for pictures and animations; analysis data as tables.
import { h } from "./dom.js";

function isPlaylist(file) {
  return /mpegurl/i.test(file.type || "") || file.format === "hls" || file.format === "m3u8";
}

function attachHls(video, url) {
  if (video.canPlayType("application/vnd.apple.mpegurl") && !window.MediaSource) {
    video.src = url; // Safari plays HLS itself
    return;
  }
  // loaded only when a playlist is shown: the list and the forms never pay for it
  import("./vendor/hls.min.mjs").then(({ default: Hls }) => {
    const player = new Hls();
    player.loadSource(url);
    player.attachMedia(video);
    video.hls = player; // the level switcher and the tests reach the player through its element
    player.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
      const choose = h("select", { id: "hls-level", "aria-label": "Rendition" },
        h("option", { value: "-1" }, "auto"),
        ...data.levels.map((level, index) => h("option", { value: index }, `${level.width}×${level.height}, ${Math.round(level.bitrate / 1000)} kb/s`)));
      choose.addEventListener("change", () => { player.currentLevel = Number(choose.value); });
      video.after(h("label", { for: "hls-level" }, "Rendition"), choose);
    });
  });
}

export function preview(file) {
  if (!file.url || file.url.startsWith("s3://")) return null;
  if (file.kind === "video" && isPlaylist(file)) {
    const video = h("video", { controls: true, muted: true, playsinline: true, class: "hls", "aria-label": "HLS preview" });
    attachHls(video, file.url);
    return h("div", { class: "preview" }, video);
  }
  if (file.kind === "video") {
    return h("div", { class: "preview" }, h("video", { controls: true, muted: true, playsinline: true, preload: "metadata", src: file.url, "aria-label": "Video preview" }));
  }
  if (file.kind === "audio") {
    return h("div", { class: "preview" }, h("audio", { controls: true, preload: "metadata", src: file.url, "aria-label": "Audio preview" }));
  }
  if (file.kind === "image") {
    const alt = `${file.format} image${file.width ? `, ${file.width}×${file.height}` : ""}`;
    return h("div", { class: "preview" }, h("img", { src: file.url, alt, loading: "lazy" }));
  }
  return null;
}

function cell(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return h("code", {}, JSON.stringify(value));
  return String(value);
}

// An analysis (the data of an intelligence or track file) as something a person reads: a list of
// records as a table, an object as name/value pairs, anything else as JSON.
export function readableData(data) {
  return h("div", { class: "data" }, h("h4", {}, "Data"), readable(data));
}

function readable(data) {
  if (Array.isArray(data) && data.length && data.every((row) => row && typeof row === "object" && !Array.isArray(row))) {
    const columns = [...new Set(data.flatMap((row) => Object.keys(row)))];
    return h("table", {}, h("thead", {}, h("tr", {}, ...columns.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, ...data.slice(0, 200).map((row) => h("tr", {}, ...columns.map((name) => h("td", {}, cell(row[name])))))));
  } else if (data && typeof data === "object" && !Array.isArray(data)) {
    return h("dl", { class: "props" }, ...Object.entries(data).flatMap(([name, value]) => [
      h("dt", {}, name),
      h("dd", {}, Array.isArray(value) || (value && typeof value === "object") ? readable(value) : cell(value)),
    ]));
  }
  return h("pre", {}, JSON.stringify(data, null, 2));
}
