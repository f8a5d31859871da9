// The page of `nnscratch serve`: draw or drop a digit (a digit model), or choose a picture (a
// model trained on a folder of images), send it to POST /api/predict, show what comes back.
// All image preparation and every number shown is computed on the server; this script only
// draws (the pad, the bars, the prepared input, the activations).
"use strict";

const PEN_WIDTH = 20;         // stroke width on the 280 x 280 pad, in pad pixels
const MAP_SIDE = 60;          // a feature map is drawn at least this many screen pixels
const MAP_SCALE = 3;          // ... and at least this many per map pixel
const UNIT_SIDE = 18;         // screen pixels per dense unit
const UNITS_PER_ROW = 40;
const DIGITS = Array.from({length: 10}, (_, k) => String(k));  // the bars before any model

const $ = (id) => document.getElementById(id);
const pad = $("canvas");
const ink = pad.getContext("2d");
const state = {
  models: [],        // as GET /api/models lists them
  model: null,       // the selected model's id
  kind: "digits",    // what the selected model reads: "digits" (the pad) or "images"
  labels: [],        // the bars' labels: the selected model's class names
  input: null,       // {body, type, drawn} of the last input sent, re-sent when the model
                     // changes (drawn: from the pad)
  empty: true,       // nothing drawn or dropped since the last Clear
  sent: 0,           // requests sent; only the latest one's answer is shown
};

// --- the pad -------------------------------------------------------------------------------
function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  const picture = $("picture");
  picture.getContext("2d").clearRect(0, 0, picture.width, picture.height);
  state.empty = true;
  state.input = null;
  state.sent += 1;  // an answer still on its way is for a drawing that is gone
  $("pad-hint").hidden = false;
  $("upload-hint").hidden = false;
  showError(null);
  showEmpty();
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

let stroke = null;  // the pointer drawing now, and its last point

pad.addEventListener("pointerdown", (event) => {
  if (stroke) return;  // a second finger does not draw
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  const [x, y] = padPoint(event);
  stroke = {id: event.pointerId, x, y};
  $("pad-hint").hidden = true;
  state.empty = false;
  ink.fillStyle = "#000";
  ink.beginPath();
  ink.arc(x, y, PEN_WIDTH / 2, 0, 2 * Math.PI);
  ink.fill();
});

pad.addEventListener("pointermove", (event) => {
  if (!stroke || event.pointerId !== stroke.id) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  ink.strokeStyle = "#000";
  ink.lineWidth = PEN_WIDTH;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(stroke.x, stroke.y);
  for (const e of events.length ? events : [event]) {
    [stroke.x, stroke.y] = padPoint(e);
    ink.lineTo(stroke.x, stroke.y);
  }
  ink.stroke();
});

function endStroke(event) {
  if (!stroke || event.pointerId !== stroke.id) return;
  stroke = null;
  send(padPng(), "image/png", true);
}

// The pad as PNG bytes. Not canvas.toBlob: Chromium may wait for an idle moment (up to a
// second) before encoding; toDataURL encodes at once.
function padPng() {
  const text = atob(pad.toDataURL("image/png").split(",")[1]);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Blob([bytes], {type: "image/png"});
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

// --- images from a file or a drop ----------------------------------------------------------
async function useFile(file) {
  if (!file) return;
  clearPad();
  state.empty = false;
  $("pad-hint").hidden = true;
  try {  // show it on the pad and in the upload box, fitted; the server gets the file itself
    const picture = await createImageBitmap(file);
    for (const canvas of [pad, $("picture")]) {
      const scale = Math.min(canvas.width / picture.width, canvas.height / picture.height);
      const w = picture.width * scale, h = picture.height * scale;
      canvas.getContext("2d").drawImage(picture, (canvas.width - w) / 2,
                                        (canvas.height - h) / 2, w, h);
    }
    $("upload-hint").hidden = true;
  } catch (error) {
    // the browser cannot show it; the server says what is wrong with it
  }
  send(file, file.type || "application/octet-stream", false);
}

$("file").addEventListener("change", (event) => {
  useFile(event.target.files[0]);
  event.target.value = "";  // the same file again is a new choice
});
for (const box of [$("pad"), $("upload")]) {  // a file dropped on the pad or the upload box
  box.addEventListener("dragover", (event) => {
    event.preventDefault();
    box.classList.add("dropping");
  });
  box.addEventListener("dragleave", () => box.classList.remove("dropping"));
  box.addEventListener("drop", (event) => {
    event.preventDefault();
    box.classList.remove("dropping");
    useFile(event.dataTransfer.files[0]);
  });
}
$("clear").addEventListener("click", clearPad);

// --- talking to the server -----------------------------------------------------------------
async function send(body, type, drawn) {
  state.input = {body, type, drawn};
  const number = ++state.sent;
  const url = "/api/predict" + (state.model ? "?model=" + encodeURIComponent(state.model) : "");
  let answer;
  try {
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": type}, body});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  } catch (error) {
    if (number === state.sent) {
      showError(error.message.startsWith("Failed to fetch")
        ? "cannot reach the server: is nnscratch serve still running?" : error.message);
      showEmpty();
    }
    return;
  }
  if (number !== state.sent) return;  // a newer input is on its way
  showError(null);
  showAnswer(answer);
}

async function loadModels() {
  try {
    const response = await fetch("/api/models");
    const listing = await response.json();
    if (!response.ok) throw new Error(listing.error);
    state.models = listing.models;
    state.model = listing.default;
  } catch (error) {
    $("model-info").textContent = "cannot list the models: " + error.message;
    return;
  }
  const select = $("model");
  select.replaceChildren(...state.models.map((m) => new Option(`${m.id}: ${m.architecture}`,
                                                                m.id)));
  select.value = state.model;
  select.disabled = state.models.length < 2;
  describeModel();
}

$("model").addEventListener("change", (event) => {
  state.model = event.target.value;
  describeModel();  // a drawing is cleared when the new model reads pictures
  if (state.input) send(state.input.body, state.input.type, state.input.drawn);
});

function describeModel() {
  const m = state.models.find((model) => model.id === state.model);
  if (!m) return;
  showKind(m);
  const parts = [m.architecture];
  if (m.hidden_activation) parts.push(m.hidden_activation);
  parts.push(`${m.parameters.toLocaleString("en")} parameters`);
  if (m.test_accuracy != null) {
    const data = m.dataset ? ` (${m.dataset.name}, ${m.dataset.split} split)` : "";
    parts.push(`test accuracy ${(100 * m.test_accuracy).toFixed(2)}%${data}`);
  }
  $("model-info").textContent = parts.join(" · ");
}

// What the page offers for the model's kind: a digit model gets the pad (drawings and
// pictures of a digit, prepared in 28 x 28); a folder model gets an upload box, its class
// names on the bars and its own input size under the prepared input.
function showKind(m) {
  const images = m.kind === "images", noun = images ? "picture" : "digit";
  if (images && state.input && state.input.drawn) clearPad();  // no pad to show it on
  if (m.kind !== state.kind) showWaiting(noun);  // the other kind's activations: no answer
  state.kind = m.kind;
  state.labels = m.class_names;
  document.body.classList.toggle("images", images);
  document.title = images ? "nnscratch: upload a picture" : "nnscratch: draw a digit";
  $("task").textContent = images ? "Upload a picture" : "Draw a digit";
  $("input-panel").setAttribute("aria-label", `your ${noun}`);
  for (const word of document.querySelectorAll(".noun")) word.textContent = noun;
  for (const id of ["pad", "clear", "drop-hint"]) $(id).hidden = images;
  $("upload").hidden = !images;
  $("open").textContent = images ? "Choose a picture…" : "Open an image…";
  $("bars").setAttribute("aria-label", `probability of each ${images ? "class" : "digit"}`);
  const {height, width, channels} = m.input;
  $("caption-digits").hidden = images;
  $("caption-images").hidden = !images;
  $("input-size").textContent =
    `${height} × ${width} pixels, ${channels === 3 ? "colour" : "grey"}`;
  const prepared = $("prepared");
  prepared.width = width;
  prepared.height = height;
  prepared.setAttribute("aria-label",
                        `the ${height} by ${width} input the network receives`);
  // a digit model's 28 x 28 keeps its size from the style sheet; a picture's longer side
  // is drawn as long as that
  const side = Math.max(height, width);
  prepared.style.width = images ? `${(112 * width / side).toFixed(1)}px` : "";
  prepared.style.height = images ? `${(112 * height / side).toFixed(1)}px` : "";
  if (!state.input) showEmpty();
}

// --- showing an answer ---------------------------------------------------------------------
function showError(message) {
  const line = $("error");
  line.hidden = !message;
  line.textContent = message || "";
}

// The hidden-layers panel without activations, until the network has read a digit or picture.
function showWaiting(noun) {
  const waiting = document.createElement("p");
  waiting.className = "muted";
  waiting.textContent = `The activations appear once the network has read a ${noun}.`;
  $("layers").replaceChildren(waiting);
}

// No answer (nothing drawn or chosen yet, Clear, or an error): no digit, empty bars, no
// prepared input (black, the background of a digit; a light grey where a picture will be),
// and no activations of an earlier input.
function showEmpty() {
  const images = state.kind === "images";
  $("digit").textContent = "?";
  const hint = images ? "choose a picture to see the network's answer"
    : "draw to see the network's answer";
  $("confidence").textContent = state.empty ? hint : "";
  $("timing").textContent = "";
  drawBars(null);
  const prepared = $("prepared");
  const context = prepared.getContext("2d");
  context.fillStyle = images ? "#e4e4e4" : "#000";
  context.fillRect(0, 0, prepared.width, prepared.height);
  showWaiting(images ? "picture" : "digit");
  document.body.classList.remove("answered");
}

function showAnswer(answer) {
  const p = answer.probabilities;
  $("digit").textContent = answer.class ?? answer.digit;  // a folder model's class name
  $("confidence").textContent = `${(100 * p[answer.digit]).toFixed(1)}% sure`;
  $("timing").textContent = `read by ${answer.model} in ${answer.milliseconds} ms`;
  drawBars(p, answer.digit);
  drawPrepared(answer.prepared);
  drawLayers(answer.layers);
  document.body.classList.add("answered");
}

// One bar per class, labelled with the model's class names (0-9 for a digit model).
function drawBars(p, top) {
  const bars = $("bars"), labels = state.labels.length ? state.labels : DIGITS;
  const shown = [...bars.children].map((item) => item.dataset.label);
  if (shown.join("\n") !== labels.join("\n")) {
    bars.replaceChildren(...labels.map((label, k) => {
      const item = document.createElement("li");
      item.dataset.digit = k;
      item.dataset.label = label;
      item.innerHTML = `<span class="label"></span><span class="track">` +
        `<span class="fill"></span></span><span class="value"></span>`;
      item.querySelector(".label").textContent = label;
      item.querySelector(".label").title = label;
      return item;
    }));
  }
  // a folder model's names take the room of the longest (up to a limit; longer ones end in
  // "…"); a digit's keeps the style sheet's
  const longest = Math.max(...labels.map((label) => label.length));
  if (state.kind === "images") {
    bars.style.setProperty("--label", `${Math.min(longest, 16) + 1}ch`);
  } else {
    bars.style.removeProperty("--label");
  }
  [...bars.children].forEach((item, k) => {
    const value = p ? p[k] : 0;
    item.dataset.p = value;
    item.classList.toggle("top", p !== null && k === top);
    item.querySelector(".fill").style.width = `${(100 * value).toFixed(2)}%`;
    item.querySelector(".value").textContent = p ? `${(100 * value).toFixed(1)}%` : "";
    item.setAttribute("aria-label", `${labels[k]}: ${(100 * value).toFixed(1)}%`);
  });
}

// The prepared input: rows of grey levels (a digit), or rows of pixels of 1 or 3 channels
// (a picture), in [0, 1].
function drawPrepared(rows) {
  const canvas = $("prepared");
  const image = new ImageData(canvas.width, canvas.height);
  rows.flat().forEach((v, i) => {
    const [r, g, b] = (Array.isArray(v) ? (v.length === 3 ? v : [v[0], v[0], v[0]])
      : [v, v, v]).map((c) => Math.round(255 * Math.min(Math.max(c, 0), 1)));
    image.data.set([r, g, b, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
}

// A dark-to-bright ramp (black, violet, orange, pale yellow) for activations scaled to [0, 1].
const RAMP = [[0, 0, 0], [87, 16, 110], [229, 92, 48], [252, 255, 164]];
function colour(t) {
  const x = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2), f = x - i;
  return RAMP[i].map((c, j) => Math.round(c + f * (RAMP[i + 1][j] - c)));
}

// A canvas of width x height cells, each shown as a scale x scale square.
function pixelCanvas(className, width, height, scale) {
  const canvas = document.createElement("canvas");
  canvas.className = className;
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  return canvas;
}

function paint(canvas, values, width, height, offset, largest) {
  const image = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = offset + i < values.length ? values[offset + i] / largest : 0;
    image.data.set([...colour(v), 255], 4 * i);
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function drawLayers(layers) {
  const box = $("layers");
  box.replaceChildren(...layers.map((layer) => {
    const values = layer.values;
    let largest = 0, active = 0;
    for (const v of values) {
      if (v > largest) largest = v;
      if (v > 0) active += 1;
    }
    largest = largest || 1;
    const block = document.createElement("div");
    block.className = "layer";
    block.dataset.kind = layer.kind;
    const title = document.createElement("h3");
    const shape = layer.shape.join(" × ");
    title.textContent = `${layer.name} `;
    const detail = document.createElement("span");
    detail.className = "muted small";
    detail.textContent = `${shape} · ${active} of ${values.length} above 0`;
    title.append(detail);
    block.append(title);
    if (layer.kind === "dense") {
      const [units] = layer.shape;
      const columns = Math.min(units, UNITS_PER_ROW), rows = Math.ceil(units / columns);
      const canvas = pixelCanvas("units", columns, rows, UNIT_SIDE);
      paint(canvas, values, columns, rows, 0, largest);
      block.append(canvas);
    } else {  // feature maps: one small image per channel
      const [channels, height, width] = layer.shape;
      const maps = document.createElement("div");
      maps.className = "maps";
      const scale = Math.max(MAP_SCALE, Math.round(MAP_SIDE / Math.max(height, width)));
      for (let c = 0; c < channels; c++) {
        const canvas = pixelCanvas("map", width, height, scale);
        canvas.title = `map ${c + 1}`;
        paint(canvas, values, width, height, c * width * height, largest);
        maps.append(canvas);
      }
      block.append(maps);
    }
    return block;
  }));
}

clearPad();
loadModels();
