// Many students in one room, driven by the official socket.io client (run by fanout.py).
// Usage: node fanout.mjs URL STUDENTS
// All students connect AT ONCE and join room "class"; then one JSON line is printed:
// {"event": "ready", "connected", "connect_ms"} (first connect to last join ack).
// Then it reads commands, one JSON line each, from stdin:
//   {"cmd": "say", "rate": messages/s, "seconds": S, "drain": D}
//     the students say `rate` messages per second together (round robin) for S seconds;
//     every student receives every message; it waits up to D seconds for what is still
//     on its way, then prints offered/acked/delivered counts, the fewest and most
//     messages one student got, and delivery latency percentiles in milliseconds.
//   {"cmd": "quit"}
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, students] = [process.argv[2], +process.argv[3]];
const room = "class";
const print = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
let phase = 0;            // messages carry their phase, so stragglers of the last one don't count
let latencies = [];
let received = [];        // per student, this phase

function connect(i) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/chat`, { auth: { name: `student${i}` }, transports: ["websocket"],
      reconnection: false, timeout: 60000 });
    socket.on("connect_error", (error) => reject(new Error(`student${i}: ${error.message}`)));
    socket.on("said", (message) => {
      const [sent, tag] = message.text.split(" ");
      if (Number(tag) !== phase) return;
      received[i] += 1;
      latencies.push(performance.now() - Number(sent));
    });
    socket.once("connect", async () => {
      try {
        const ack = await socket.timeout(60000).emitWithAck("join", { room });
        if (!ack.ok) reject(new Error(`student${i} could not join: ${ack.error}`)); else resolve(socket);
      } catch (error) {
        reject(new Error(`student${i} could not join: ${error.message}`));
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function say({ rate, seconds, drain }) {
  phase += 1;
  latencies = [];
  received = sockets.map(() => 0);
  let acked = 0, refused = 0, failed = 0, offered = 0;
  const interval = 1000 / rate;
  const start = performance.now();
  let next = start, turn = 0;
  while (performance.now() - start < seconds * 1000) {
    const socket = sockets[turn++ % sockets.length];
    offered += 1;
    socket.timeout(30000).emitWithAck("say", { room, text: `${performance.now()} ${phase}` })
      .then((ack) => { if (ack.ok) acked += 1; else refused += 1; }, () => { failed += 1; });
    next += interval;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    else if (turn % 50 === 0) await new Promise((r) => setImmediate(r));  // let replies in
  }
  const sendSeconds = (performance.now() - start) / 1000;
  const delivered = () => received.reduce((a, b) => a + b, 0);
  const deadline = performance.now() + drain * 1000;
  while ((acked + refused + failed < offered || delivered() < acked * students)
         && performance.now() < deadline) await sleep(20);
  const totalSeconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null;
  print({ event: "said", students, rate, send_seconds: sendSeconds, seconds: totalSeconds,
    offered, acked, refused, failed, delivered: delivered(), expected: acked * students,
    fewest: Math.min(...received), most: Math.max(...received),
    p50: pct(0.5), p99: pct(0.99) });
}

const first = performance.now();
let sockets;
try {
  sockets = await Promise.all(Array.from({ length: students }, (_, i) => connect(i)));
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
print({ event: "ready", connected: sockets.filter((s) => s.connected).length,
  connect_ms: performance.now() - first });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.cmd === "quit") break;
  if (command.cmd === "say") await say(command);
}
for (const socket of sockets) socket.disconnect();
process.exit(0);
