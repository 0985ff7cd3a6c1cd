// Two small SVG charts for the dashboard: stacked bars over time, and labelled bars.
// Built with DOM calls and presentation attributes only (the page's CSP allows no inline style).
"use strict";

const HeraldCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = {
    delivered: "#2e7d32", expired_handle: "#ef6c00", invalid_handle: "#c62828",
    throttled: "#6a1b9a", transient: "#f9a825", payload_rejected: "#ad1457",
    credentials_rejected: "#4e342e", dropped: "#616161",
  };
  const PALETTE = ["#1565c0", "#00838f", "#7cb342", "#8e24aa", "#f4511e", "#5d4037",
    "#3949ab", "#c0ca33", "#d81b60", "#546e7a"];

  function colour(name, index) {
    return COLOURS[name] || PALETTE[index % PALETTE.length];
  }

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function empty(container, text) {
    container.replaceChildren();
    const note = document.createElement("p");
    note.className = "empty";
    note.textContent = text;
    container.appendChild(note);
  }

  function legend(container, names) {
    const list = document.createElement("ul");
    list.className = "legend";
    names.forEach((name, index) => {
      const item = document.createElement("li");
      const swatch = element("svg", { width: 10, height: 10, "aria-hidden": "true" });
      element("rect", { width: 10, height: 10, fill: colour(name, index) }, swatch);
      item.append(swatch, " " + name);
      list.appendChild(item);
    });
    container.appendChild(list);
  }

  // slots: [{label, values: {series: number}}] in time order; series: names, stacked bottom up.
  function stackedBars(container, slots, series) {
    const total = (slot) => series.reduce((sum, name) => sum + (slot.values[name] || 0), 0);
    const peak = Math.max(0, ...slots.map(total));
    if (!slots.length || peak === 0) return empty(container, "Nothing in this range.");
    container.replaceChildren();
    const width = 420, height = 160, left = 36, bottom = 18, top = 8;
    const svg = element("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img", class: "stacked",
      "aria-label": `peak ${peak}`,
    }, container);
    const plot = height - bottom - top;
    const step = (width - left) / slots.length;
    element("line", { x1: left, y1: top + plot, x2: width, y2: top + plot, stroke: "#999" }, svg);
    element("text", { x: left - 4, y: top + 8, "text-anchor": "end", "font-size": 10 }, svg)
      .textContent = String(peak);
    element("text", { x: left - 4, y: top + plot, "text-anchor": "end", "font-size": 10 }, svg)
      .textContent = "0";
    slots.forEach((slot, index) => {
      let y = top + plot;
      series.forEach((name, seriesIndex) => {
        const value = slot.values[name] || 0;
        if (!value) return;
        const h = (value / peak) * plot;
        y -= h;
        const bar = element("rect", {
          x: left + index * step + step * 0.1, y, width: Math.max(step * 0.8, 1), height: h,
          fill: colour(name, seriesIndex),
        }, svg);
        element("title", {}, bar).textContent = `${slot.label}: ${name} ${value}`;
      });
    });
    const labels = Math.min(4, slots.length);
    for (let n = 0; n < labels; n += 1) {
      const index = Math.floor((n * (slots.length - 1)) / Math.max(labels - 1, 1));
      element("text", {
        x: left + index * step + step / 2, y: height - 4, "text-anchor": "middle",
        "font-size": 10,
      }, svg).textContent = slots[index].label;
    }
    legend(container, series);
  }

  // items: [{label, value}]; one horizontal bar each, longest first.
  function bars(container, items) {
    const shown = items.filter((item) => item.value > 0).sort((a, b) => b.value - a.value);
    if (!shown.length) return empty(container, "None in this range.");
    container.replaceChildren();
    const row = 20, width = 420, left = 150;
    const peak = shown[0].value;
    const svg = element("svg", {
      viewBox: `0 0 ${width} ${row * shown.length}`, role: "img", class: "bars",
    }, container);
    shown.forEach((item, index) => {
      const y = index * row;
      element("text", { x: left - 6, y: y + 14, "text-anchor": "end", "font-size": 11 }, svg)
        .textContent = item.label;
      const w = Math.max(((width - left - 50) * item.value) / peak, 1);
      element("rect", {
        x: left, y: y + 4, width: w, height: row - 8, fill: colour(item.label, index),
      }, svg);
      element("text", { x: left + w + 4, y: y + 14, "font-size": 11, class: "value" }, svg)
        .textContent = String(item.value);
    });
  }

  return { stackedBars, bars, empty };
})();
