// The page of `nnscratch serve`: draw or drop a digit, send it to POST /api/predict, show
// what comes back. All image preparation and every number shown is computed on the server;
// this script only draws (the pad, the bars, the prepared input, the activations).
"use strict";

const PEN_WIDTH = 20;         // stroke width on the 280 x 280 pad, in pad pixels
const MAP_SIDE = 60;          // a feature map is drawn at least this many screen pixels
const MAP_SCALE = 3;          // ... and at least this many per map pixel
const UNIT_SIDE = 18;         // screen pixels per dense unit
const UNITS_PER_ROW = 40;

const $ = (id) => document.getElementById(id);
const pad = $("canvas");
const ink = pad.getContext("2d");
const state = {
  models: [],        // as GET /api/models lists them
  model: null,       // the selected model's id
  input: null,       // {body, type} of the last input sent, re-sent when the model changes
  empty: true,       // nothing drawn or dropped since the last Clear
  sent: 0,           // requests sent; only the latest one's answer is shown
};

// --- the pad -------------------------------------------------------------------------------
function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  state.empty = true;
  state.input = null;
  state.sent += 1;  // an answer still on its way is for a drawing that is gone
  $("pad-hint").hidden = false;
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
  send(padPng(), "image/png");
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
  try {  // show it on the pad, fitted; the server gets the file itself
    const picture = await createImageBitmap(file);
    const scale = Math.min(pad.width / picture.width, pad.height / picture.height);
    const w = picture.width * scale, h = picture.height * scale;
    ink.drawImage(picture, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  } catch (error) {
    // the browser cannot show it; the server says what is wrong with it
  }
  send(file, file.type || "application/octet-stream");
}

$("file").addEventListener("change", (event) => {
  useFile(event.target.files[0]);
  event.target.value = "";  // the same file again is a new choice
});
const padBox = $("pad");
padBox.addEventListener("dragover", (event) => {
  event.preventDefault();
  padBox.classList.add("dropping");
});
padBox.addEventListener("dragleave", () => padBox.classList.remove("dropping"));
padBox.addEventListener("drop", (event) => {
  event.preventDefault();
  padBox.classList.remove("dropping");
  useFile(event.dataTransfer.files[0]);
});
$("clear").addEventListener("click", clearPad);

// --- talking to the server -----------------------------------------------------------------
async function send(body, type) {
  state.input = {body, type};
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
  describeModel();
  if (state.input) send(state.input.body, state.input.type);
});

function describeModel() {
  const m = state.models.find((model) => model.id === state.model);
  if (!m) return;
  const parts = [m.architecture];
  if (m.hidden_activation) parts.push(m.hidden_activation);
  parts.push(`${m.parameters.toLocaleString("en")} parameters`);
  if (m.test_accuracy != null) {
    const data = m.dataset ? ` (${m.dataset.name}, ${m.dataset.split} split)` : "";
    parts.push(`test accuracy ${(100 * m.test_accuracy).toFixed(2)}%${data}`);
  }
  $("model-info").textContent = parts.join(" · ");
}

// --- showing an answer ---------------------------------------------------------------------
function showError(message) {
  const line = $("error");
  line.hidden = !message;
  line.textContent = message || "";
}

function showEmpty() {
  $("digit").textContent = "?";
  $("confidence").textContent = state.empty ? "draw to see the network's answer" : "";
  $("timing").textContent = "";
  drawBars(null);
  const prepared = $("prepared").getContext("2d");
  prepared.fillStyle = "#000";
  prepared.fillRect(0, 0, 28, 28);
  document.body.classList.remove("answered");
}

function showAnswer(answer) {
  const p = answer.probabilities;
  $("digit").textContent = answer.class ?? answer.digit;  // a folder model's class name
  $("confidence").textContent = `${(100 * p[answer.digit]).toFixed(1)}% sure`;
  $("timing").textContent = `read by ${answer.model} in ${answer.milliseconds} ms`;
  drawBars(p, answer.digit);
  if (answer.class === undefined) drawPrepared(answer.prepared);  // 28x28 digits only
  drawLayers(answer.layers);
  document.body.classList.add("answered");
}

function drawBars(p, top) {
  const bars = $("bars");
  const n = p ? p.length : (bars.children.length || 10);
  if (bars.children.length !== n) {
    bars.replaceChildren(...Array.from({length: n}, (_, k) => {
      const item = document.createElement("li");
      item.dataset.digit = k;
      item.innerHTML = `<span class="label">${k}</span><span class="track">` +
        `<span class="fill"></span></span><span class="value"></span>`;
      return item;
    }));
  }
  [...bars.children].forEach((item, k) => {
    const value = p ? p[k] : 0;
    item.dataset.p = value;
    item.classList.toggle("top", p !== null && k === top);
    item.querySelector(".fill").style.width = `${(100 * value).toFixed(2)}%`;
    item.querySelector(".value").textContent = p ? `${(100 * value).toFixed(1)}%` : "";
    item.setAttribute("aria-label", `${k}: ${(100 * value).toFixed(1)}%`);
  });
}

function drawPrepared(rows) {
  const canvas = $("prepared");
  const image = new ImageData(28, 28);
  rows.flat().forEach((v, i) => {
    const level = Math.round(255 * v);
    image.data.set([level, level, level, 255], 4 * i);
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
