// The reference: the Node socket.io server with the load generator's protocol (fanout.py).
// Usage: node fanout_node_server.mjs   (listens on 127.0.0.1, a free port; prints its URL)
// Namespace /chat; `join {room}` is acked {ok: true, room}; `say {room, text}` is acked
// {ok: true} and broadcast as `said {room, text, name}` to the room, the sender included.
import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const io = new Server(httpServer, { transports: ["websocket", "polling"] });
const chat = io.of("/chat");

chat.on("connection", (socket) => {
  const name = String(socket.handshake.auth?.name ?? "anonymous");
  socket.on("join", (data, ack) => {
    socket.join(String(data.room));
    ack({ ok: true, room: String(data.room) });
  });
  socket.on("say", (data, ack) => {
    const room = String(data.room);
    chat.to(room).emit("said", { room, text: String(data.text), name });
    ack({ ok: true });
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
