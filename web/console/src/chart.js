// A small line chart of recent beat latency on a canvas: no library, redrawn on each sample.

export function drawLatency(canvas, series, caption) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui";
  ctx.fillStyle = "#6b6f76";
  const points = series.filter((p) => p.value != null);
  if (points.length < 2) {
    ctx.fillText("collecting beat latency samples…", 10, height / 2);
    caption.textContent = "";
    return;
  }
  const top = Math.max(1, ...points.map((p) => p.value)) * 1.15;
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const x = (t) => 40 + ((t - t0) / span) * (width - 50);
  const y = (v) => height - 16 - (v / top) * (height - 26);
  ctx.strokeStyle = "#d9dbde";
  ctx.beginPath();
  ctx.moveTo(40, y(0));
  ctx.lineTo(width - 10, y(0));
  ctx.stroke();
  ctx.fillText(`${top.toFixed(top < 10 ? 1 : 0)} ms`, 2, 12);
  ctx.fillText("0", 28, y(0) + 4);
  ctx.strokeStyle = "#3d7bd6";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.value)) : ctx.moveTo(x(p.t), y(p.value))));
  ctx.stroke();
  const last = points[points.length - 1].value;
  caption.textContent = `${caption.dataset.subject}: last ${last.toFixed(2)} ms, over the last ${Math.round(span)} s`;
}
