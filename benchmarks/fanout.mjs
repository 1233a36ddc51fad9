// Many students in one room, driven by the official socket.io client (run by fanout.py).
// Usage: node fanout.mjs URL STUDENTS RATE SECONDS
// Every student joins room "class"; together they say RATE messages per second (round
// robin) for SECONDS; every student receives every message. Prints one JSON line:
// offered/acked/delivered counts and delivery latency percentiles in milliseconds.
import { io } from "socket.io-client";

const [url, students, rate, seconds] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
const room = "class";
const latencies = [];
let delivered = 0, acked = 0, refused = 0, offered = 0;

function connect(i) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/chat`, { auth: { name: `student${i}` }, transports: ["websocket"], reconnection: false });
    socket.on("connect_error", (error) => reject(new Error(`student${i}: ${error.message}`)));
    socket.on("said", (message) => {
      const sent = Number(message.text.split(" ")[0]);
      if (!Number.isNaN(sent)) { delivered += 1; latencies.push(performance.now() - sent); }
    });
    socket.on("connect", async () => {
      try {
        const ack = await socket.timeout(10000).emitWithAck("join", { room });
        if (!ack.ok) reject(new Error(ack.error)); else resolve(socket);
      } catch (error) {
        reject(new Error(`student${i} could not join: ${error.message}`));
      }
    });
  });
}

const sockets = [];
for (let i = 0; i < students; i += 1) sockets.push(await connect(i));  // one at a time: no thundering herd
await new Promise((r) => setTimeout(r, 300));

const interval = 1000 / rate;
const start = performance.now();
let next = start, turn = 0;
while (performance.now() - start < seconds * 1000) {
  const socket = sockets[turn++ % sockets.length];
  offered += 1;
  socket.timeout(10000).emitWithAck("say", { room, text: `${performance.now()} load` })
    .then((ack) => { if (ack.ok) acked += 1; else refused += 1; }, () => {});
  next += interval;
  const wait = next - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  else if (turn % 50 === 0) await new Promise((r) => setImmediate(r));  // let replies in
}
const sendElapsed = (performance.now() - start) / 1000;
const deadline = performance.now() + 5000;  // drain: wait for what is still on its way
while (delivered < acked * students && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
latencies.sort((a, b) => a - b);
const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null;
console.log(JSON.stringify({ students, rate, seconds: sendElapsed, offered, acked, refused, delivered,
  expected: acked * students, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) }));
for (const socket of sockets) socket.disconnect();
process.exit(0);
