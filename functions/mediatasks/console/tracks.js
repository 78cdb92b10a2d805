// A track task's player: the video the track was made from, with the track on it. Subtitles as a
// caption track, a transcript's segments as captions and its words as buttons that seek, chapters
// as marks on a bar that seek, thumbnails as the sprite tile of the time under the pointer or the focus.
import { h } from "./dom.js";

export const TRACK_KINDS = new Set(["subtitles", "speech", "chapters", "thumbnails"]);

// A task's input plays only when the project stored it (the task names it by a file id): its link
// is then into the API's storage. A URL the caller gave may be anyone's, and the page asks only the
// API and its storage for anything (the Content-Security-Policy would refuse it anyway).
function storedInput(task) {
  const input = task.inputs[0];
  const givenAsUrl = /^[a-z][a-z0-9+.-]*:/i.test(task.input || "");
  return input && input.url && !givenAsUrl ? input : null;
}

function clock(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function seekTo(video, seconds) {
  video.currentTime = seconds;
}

function transcript(video, data) {
  const segments = (data && data.segments) || [];
  // the transcript's segments are the captions (speech has no caption file of its own)
  const captions = video.addTextTrack("captions", "Transcript", data.language || "en");
  for (const segment of segments) captions.addCue(new VTTCue(segment.start, segment.end, segment.text));
  captions.mode = "showing";
  return h("section", { class: "transcript", "aria-labelledby": "transcript-heading" },
    h("h3", { id: "transcript-heading" }, "Transcript"),
    h("p", { class: "hint" }, "Select a word to play from it."),
    ...segments.map((segment) => h("p", {}, ...segment.words.flatMap((word) => [
      h("button", { type: "button", class: "word", "data-start": word.start, title: `at ${word.start.toFixed(2)} s`, onclick: () => seekTo(video, word.start) }, word.word),
      " ",
    ]))));
}

// Chapters as marks on a bar under the player, each where its chapter starts (placed through the
// CSSOM, which the CSP allows), the played part filled as the video plays; and as a list, the marks'
// keyboard- and reader-friendly twin. Both seek.
function chapterMarks(video, chapters, duration) {
  const known = chapters || [];
  const share = (seconds) => `${Math.min(Math.max(duration > 0 ? seconds / duration : 0, 0), 1) * 100}%`;
  const played = h("div", { class: "played" });
  const marks = known.map((chapter) => {
    const mark = h("button", { type: "button", class: "mark", "data-start": chapter.start, title: chapter.title,
      "aria-label": `${chapter.title}, at ${clock(chapter.start)}`, onclick: () => seekTo(video, chapter.start) });
    mark.style.left = share(chapter.start);
    return mark;
  });
  played.style.width = "0%";
  video.addEventListener("timeupdate", () => { played.style.width = share(video.currentTime); });
  return h("nav", { class: "chapters", "aria-label": "Chapters" },
    h("h3", {}, "Chapters"),
    h("div", { class: "chapter-bar", id: "chapter-bar" }, played, ...marks),
    h("ol", {}, ...known.map((chapter) => h("li", {},
      h("button", { type: "button", "data-start": chapter.start, onclick: () => seekTo(video, chapter.start) },
        `${clock(chapter.start)} ${chapter.title}`)))));
}

// The tile of a thumbnails cue ("<sprite link>#xywh=x,y,w,h", W3C media fragments) as a box showing
// that part of the sprite: set through the CSSOM, which the CSP allows (no style attribute).
function showTile(tile, cue) {
  // a link with a quote, backslash or space could end the CSS url() early: never shown
  const match = cue && /^([^"\\\s]+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.text.trim());
  if (!match) { tile.hidden = true; return; }
  const [, sprite, x, y, width, height] = match;
  tile.hidden = false;
  tile.style.backgroundImage = `url("${sprite}")`;
  tile.style.backgroundPosition = `-${x}px -${y}px`;
  tile.style.width = `${width}px`;
  tile.style.height = `${height}px`;
  tile.setAttribute("aria-label", `Preview at ${cue.startTime.toFixed(1)} s`);
}

function scrubber(video, file, duration) {
  // the browser parses the track (same origin: the playback route); its cues are read, not shown
  const track = h("track", { kind: "metadata", src: file.url, label: "Thumbnails", default: true });
  video.append(track);
  const tile = h("div", { class: "tile", id: "thumbnail-tile", role: "img", hidden: true });
  const scrub = h("input", { type: "range", id: "scrub", min: 0, max: duration, step: 0.1, value: 0, "aria-describedby": "scrub-hint" });
  const cueAt = (seconds) => [...(track.track.cues || [])].find((cue) => cue.startTime <= seconds && seconds < cue.endTime)
    || (track.track.cues && track.track.cues[track.track.cues.length - 1]);
  let asked = null; // the time last pointed at: shown again once the cues arrive
  const preview = (seconds) => { asked = seconds; showTile(tile, cueAt(seconds)); };
  track.addEventListener("load", () => { if (asked !== null && (scrub.matches(":hover") || document.activeElement === scrub)) preview(asked); });
  track.track.mode = "hidden";
  scrub.addEventListener("pointermove", (event) => {
    const box = scrub.getBoundingClientRect();
    preview(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1) * duration);
  });
  scrub.addEventListener("input", () => preview(Number(scrub.value)));
  scrub.addEventListener("focus", () => preview(Number(scrub.value)));
  scrub.addEventListener("change", () => seekTo(video, Number(scrub.value)));
  scrub.addEventListener("pointerleave", () => { if (document.activeElement !== scrub) tile.hidden = true; });
  scrub.addEventListener("blur", () => { tile.hidden = true; });
  return h("div", { class: "scrubber" },
    h("label", { for: "scrub" }, "Scrub through the thumbnails"),
    scrub,
    h("p", { class: "hint", id: "scrub-hint" }, "Point at or move along the bar to see that moment; release to play from it."),
    tile);
}

export function trackPlayer(task) {
  const output = task.output;
  const input = storedInput(task);
  if (!TRACK_KINDS.has(task.kind) || task.status !== "succeeded" || !output || !output.url || !input) return null;
  const video = h("video", { id: "track-player", controls: true, muted: true, playsinline: true, preload: "metadata",
    crossorigin: "anonymous", src: input.url, "aria-label": `The input, with its ${task.kind}` });
  const parts = [];
  if (task.kind === "subtitles" && output.format === "vtt") {
    video.append(h("track", { kind: "captions", src: output.url, srclang: "en", label: "Captions", default: true }));
  } else if (task.kind === "speech") {
    parts.push(transcript(video, output.data || {}));
  } else if (task.kind === "chapters") {
    // browsers draw no chapters track on their own controls: the page draws the marks
    parts.push(chapterMarks(video, output.data, input.duration || 0));
  } else if (task.kind === "thumbnails") {
    parts.unshift(scrubber(video, output, input.duration || output.duration || 0));
  }
  return h("section", { class: "track-player", "aria-labelledby": "player-heading" },
    h("h2", { id: "player-heading" }, "Player"), video, ...parts);
}
