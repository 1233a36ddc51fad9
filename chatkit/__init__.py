"""chatkit: the helper package of a hands-on course in real-time communication.

Each module holds one idea and says which notebook introduces it:

- ``running``   run servers inside the notebook's event loop (notebook 01)
- ``websocket`` a browser-style WebSocket client and tiny servers (notebook 01)
- ``polling``   HTTP polling versus WebSocket push, measured (notebook 00)
- ``sio``       serve and stop a raw python-socketio server in a kernel (notebook 02)
- ``chat``      the chat's rules: names, rooms, limits, moderation, ids, resume; no
                sockets (notebooks 02, 06)
- ``store``     message history, in memory, in SQLite or in Redis (notebooks 02, 06)
- ``server``    ChatServer, the socket.io chat server (notebooks 02-06)
- ``client``    ChatClient, a chat client that is safe in a notebook (notebooks 02-05)
- ``roommap``   the map of namespaces, rooms and clients (notebook 04)
- ``panel``     ChatPanel, the live chat window made of widgets (notebook 05)
- ``cluster``   several chat server processes sharing one Redis (notebook 06)
- ``classroom`` the teacher's side: server process, /teacher tools, Redis (notebook 06)
- ``exercises`` the check functions of each notebook's exercise
- ``__main__``  ``python -m chatkit serve``, the teacher's server (notebook 06)
"""

import logging

__version__ = "0.1.0"

# A library's logging is for whoever configures logging (`python -m chatkit serve` does).
# Without this, Python prints warnings to stderr, and in a notebook stderr from a
# background task lands in whichever cell runs at that moment.
logging.getLogger(__name__).addHandler(logging.NullHandler())
